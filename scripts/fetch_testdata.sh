#!/usr/bin/env bash
# Real bibliographic data for the tests and benchmarks, fetched from the package registries once and cached:
#   - 250,000 Library of Congress MARC records and broken-record files from the pymarc source distribution (PyPI)
#   - MARC and an OAI-PMH response from Debian's idzebra-2.0-examples
set -euo pipefail
dest="${TESTDATA_DIR:-$HOME/.cache/bibliomesh/testdata}"
pip="${PIP:-.venv/bin/pip}"
mkdir -p "$dest"

if [ ! -s "$dest/pymarc/BooksAll.2016.part01.utf8" ]; then
  work=$(mktemp -d)
  "$pip" download --quiet --no-deps --no-binary :all: "pymarc==5.4.0" -d "$work" 2>&1 | grep -v '^WARNING' || true
  mkdir -p "$dest/pymarc"
  tar -xzf "$work"/pymarc-5.4.0.tar.gz -C "$work"
  cp "$work"/pymarc-5.4.0/BooksAll.2016.part01.utf8 "$dest/pymarc/"
  cp "$work"/pymarc-5.4.0/test/*.dat "$work"/pymarc-5.4.0/test/*.mrc "$work"/pymarc-5.4.0/test/*.xml \
     "$work"/pymarc-5.4.0/test/*.json "$dest/pymarc/"
  rm -rf "$work"
fi

if [ ! -d "$dest/zebra" ]; then
  work=$(mktemp -d)
  ( cd "$work" && { apt-get download idzebra-2.0-examples >/dev/null 2>&1 || \
      { apt-get update >/dev/null 2>&1 && apt-get download idzebra-2.0-examples >/dev/null; }; } )
  dpkg-deb -x "$work"/idzebra-2.0-examples_*.deb "$work/x"
  mkdir -p "$dest/zebra"
  cp -r "$work"/x/usr/share/doc/idzebra-2.0/examples/* "$dest/zebra/"
  find "$dest/zebra" -name '*.gz' -exec gunzip -f {} +
  rm -rf "$work"
fi
echo "$dest"
