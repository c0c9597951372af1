"""Normalized identifiers and text keys: what two catalogues must agree on before their records can match.

ISBNs become ISBN-13 (qualifiers such as "(pbk.)" split off, check digit validated), ISSNs `NNNN-NNNC`, OCLC
numbers bare digits, LCCNs follow the Library of Congress normalization rules, and titles and names become
keys: NFKC, case-folded, Latin diacritics and punctuation dropped, leading articles stripped, Chinese, Japanese
and Korean text kept (with the spaces between its characters removed, since catalogues disagree on them).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_ISBN_RUN = re.compile(r"[0-9][0-9\-]{8,16}[0-9Xx]")
_ISBN_SPACED = re.compile(r"[0-9](?:[\- ]?[0-9]){8,11}[\- ]?[0-9Xx]")
_QUALIFIER_TRIM = " \t:;,./()[]"


@dataclass(frozen=True, slots=True)
class Isbn:
    """One 020 value: the normalized ISBN-13 (None when invalid), the digits as given, and its qualifier."""

    isbn13: str | None
    given: str
    qualifier: str | None


def isbn10_is_valid(digits: str) -> bool:
    """Check digit of a 10-character ISBN (the last may be `X`)."""
    if len(digits) != 10 or not digits[:9].isdigit() or not (digits[9].isdigit() or digits[9] == "X"):
        return False
    total = sum((10 - i) * int(d) for i, d in enumerate(digits[:9]))
    total += 10 if digits[9] == "X" else int(digits[9])
    return total % 11 == 0


def isbn13_is_valid(digits: str) -> bool:
    """Check digit and 978/979 prefix of a 13-digit ISBN."""
    if len(digits) != 13 or not digits.isdigit() or digits[:3] not in ("978", "979"):
        return False
    return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


def isbn10_to_13(digits: str) -> str:
    """The ISBN-13 of a valid ISBN-10."""
    core = "978" + digits[:9]
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(core)) % 10) % 10
    return core + str(check)


def parse_isbn(value: str) -> Isbn | None:
    """Split an ISBN field into number and qualifier, e.g. `0-306-40615-2 (v. 1 : alk. paper)`; None if no number."""
    match = _ISBN_RUN.search(value)
    if match is not None and _isbn_length(match.group()) not in (10, 13):
        match = next((found for found in _ISBN_RUN.finditer(value) if _isbn_length(found.group()) in (10, 13)),
                     None)
    if match is None:
        spaced = _ISBN_SPACED.search(value)
        match = spaced if spaced and _isbn_length(spaced.group()) in (10, 13) else None
    if match is None:
        return None
    digits = match.group().replace("-", "").replace(" ", "").upper()
    qualifier = value[match.end():].strip(_QUALIFIER_TRIM) or None
    isbn13 = None
    if len(digits) == 13 and isbn13_is_valid(digits):
        isbn13 = digits
    elif len(digits) == 10 and isbn10_is_valid(digits):
        isbn13 = isbn10_to_13(digits)
    return Isbn(isbn13=isbn13, given=digits, qualifier=qualifier)


def _isbn_length(text: str) -> int:
    return len(text) - text.count("-") - text.count(" ")


def normalize_isbn(value: str) -> str | None:
    """The ISBN-13 in `value`, or None when there is none or its check digit is wrong."""
    parsed = parse_isbn(value)
    return parsed.isbn13 if parsed else None


_ISSN = re.compile(r"([0-9]{4})[\- ]?([0-9]{3}[0-9Xx])")


def normalize_issn(value: str) -> str | None:
    """`NNNN-NNNC` with a valid check digit, or None."""
    found = _ISSN.search(value)
    if found is None:
        return None
    digits = (found.group(1) + found.group(2)).upper()
    total = sum((8 - i) * int(d) for i, d in enumerate(digits[:7]))
    check = (11 - total % 11) % 11
    if digits[7] != ("X" if check == 10 else str(check)):
        return None
    return f"{digits[:4]}-{digits[4:]}"


_OCLC = re.compile(r"^\s*\((?:OCoLC|OCLC)\)\s*(?:ocm|ocn|on)?\s*0*([0-9]+)\s*$", re.IGNORECASE)


def normalize_oclc(value: str) -> str | None:
    """The OCLC number of a 035 $a such as `(OCoLC)ocm00012345`, without prefix or leading zeros; else None."""
    found = _OCLC.match(value)
    return found.group(1) if found else None


_LCCN = re.compile(r"^(?:[a-z]{0,3}[0-9]{8}|[a-z]{0,2}[0-9]{10})$")


def normalize_lccn(value: str) -> str | None:
    """Library of Congress normalization: blanks removed, `/` and what follows cut, the part after a hyphen
    zero-padded to six digits; the result must look like an LCCN (prefix of up to three letters, then 8 or 10
    digits)."""
    text = "".join(value.split()).lower()
    text = text.split("/", 1)[0]
    if "-" in text:
        head, _, tail = text.partition("-")
        if not tail.isdigit() or len(tail) > 6:
            return None
        text = head + tail.zfill(6)
    return text if _LCCN.match(text) else None


# --- text keys --------------------------------------------------------------------------------------------------

def _unicode_class(categories: tuple[str, ...]) -> str:
    """A regex character class of the Basic Multilingual Plane characters in these general categories."""
    ranges: list[str] = []
    start = previous = -2
    for code in range(sys.maxunicode if sys.maxunicode < 0x10000 else 0x10000):
        if unicodedata.category(chr(code)).startswith(categories) and chr(code) not in "&":
            if code != previous + 1:
                if start >= 0:
                    ranges.append(_range(start, previous))
                start = code
            previous = code
    ranges.append(_range(start, previous))
    return "[" + "".join(ranges) + "]"


def _range(first: int, last: int) -> str:
    return f"\\u{first:04x}" if first == last else f"\\u{first:04x}-\\u{last:04x}"


_PUNCTUATION = re.compile(_unicode_class(("P", "S")) + "+")
_LATIN_MARKS = re.compile("[\u0300-\u036f\u02b0-\u02ff]")  # combining diacritics, modifier letters (ayn, prime)
_CJK = "\u2e80-\u2fdf\u3005\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_SPACES = re.compile(f"\\s+(?=[{_CJK}])|(?<=[{_CJK}])\\s+")
_HAS_CJK = re.compile(f"[{_CJK}]")
# Traditional -> simplified for the characters most common in titles and names, so that a Taiwan or Hong Kong
# catalogue's 紅樓夢 compares with a mainland 红楼梦 (the full mapping belongs to a dedicated library such as OpenCC).
_TRADITIONAL = (
    "紅樓夢國學書歷時經濟會與論說語傳記詞詩話讀華東開關門問間體發現實對應當動種無為們來長後萬龍車馬鳥魚電網藝術藥醫農業機類題"
    "圖園團廣區鄉縣灣臺蘇陽漢滿寶貴買賣錢銀鐵環產計設許譯議證識選邊還這進運過遠連遊達變戰戲劇聲樂歡愛親兒孫婦氣雲風飛見觀覺視"
    "頭聖靈壽黨軍將師員職聯維統紀約級結給線組織總義習聽蘭葉筆簡節範隊際陸陳險雜難雙離驗點黃齊歲燈獨畫禮窮競築糧緊憶懷態慶廳廠"
    "縱紙綜編緣練續繪羅聞處號蟲補裝複規訊訪評試誠誤調談請諸講謝護讓豐貞負財責質貨貿資賓賞賢趙跡軟輕載較輝辦遷遺郵鄭釋鐘鍾錄鏡"
    "閱隨隱雞韓順頓領頻顏願顯飯飲館驚髮鬥鳳麗麥齒龜憲戀擇擊據擴數斷條極構標權殘殺漁濤災烏熱爺狀猶獻瑪畢療盡監確礎禪穩簽紡純綠"
    "緒縮繼罰膽腦臨興舊莊蘋蘆藍虛衛衝袞製覽觸訂詳認誌課謎豬貓賽贈趨輪轉辭適鄰醜鑑鑒陣階雖靜響頁項須預額養餘馮驅鬧魯鮮鳴鹽麼齡"
    "鄧劉張楊吳蕭蔣閻顧龔鄒嚴譚盧賈圍圓塊壞場報夠奪奮寫專尋導屬島峽幣幫庫廢彈徑從復惡慣懼戶揚換擁擬攝敗敵晉暫曉棄檢歐決況淚淺"
    "湯溝滅漸濃濕煙煩爐獎獲異皺盜碼礦禍穀紋細終絕緩罷肅脫腳臉艦虧衆襲訓詢誰諾謀謂謠貧貫貼賊賬賴贊趕躍軌輔輯遞針銳鋼錦鍵鎖鎮鏈"
    "閃閉闊陰霧頂顆飄餅騎鬆敎啓峯裏鑄麵塗週嶺衞鷄綫"
)
_SIMPLIFIED = (
    "红楼梦国学书历时经济会与论说语传记词诗话读华东开关门问间体发现实对应当动种无为们来长后万龙车马鸟鱼电网艺术药医农业机类题"
    "图园团广区乡县湾台苏阳汉满宝贵买卖钱银铁环产计设许译议证识选边还这进运过远连游达变战戏剧声乐欢爱亲儿孙妇气云风飞见观觉视"
    "头圣灵寿党军将师员职联维统纪约级结给线组织总义习听兰叶笔简节范队际陆陈险杂难双离验点黄齐岁灯独画礼穷竞筑粮紧忆怀态庆厅厂"
    "纵纸综编缘练续绘罗闻处号虫补装复规讯访评试诚误调谈请诸讲谢护让丰贞负财责质货贸资宾赏贤赵迹软轻载较辉办迁遗邮郑释钟钟录镜"
    "阅随隐鸡韩顺顿领频颜愿显饭饮馆惊发斗凤丽麦齿龟宪恋择击据扩数断条极构标权残杀渔涛灾乌热爷状犹献玛毕疗尽监确础禅稳签纺纯绿"
    "绪缩继罚胆脑临兴旧庄苹芦蓝虚卫冲衮制览触订详认志课谜猪猫赛赠趋轮转辞适邻丑鉴鉴阵阶虽静响页项须预额养余冯驱闹鲁鲜鸣盐么龄"
    "邓刘张杨吴萧蒋阎顾龚邹严谭卢贾围圆块坏场报够夺奋写专寻导属岛峡币帮库废弹径从复恶惯惧户扬换拥拟摄败敌晋暂晓弃检欧决况泪浅"
    "汤沟灭渐浓湿烟烦炉奖获异皱盗码矿祸谷纹细终绝缓罢肃脱脚脸舰亏众袭训询谁诺谋谓谣贫贯贴贼账赖赞赶跃轨辅辑递针锐钢锦键锁镇链"
    "闪闭阔阴雾顶颗飘饼骑松教启峰里铸面涂周岭卫鸡线"
)
_TO_SIMPLIFIED = str.maketrans(_TRADITIONAL, _SIMPLIFIED)
_ARTICLES = ("the ", "a ", "an ", "l'", "l\u2019")


# Titles and names recur within a batch (profiles, match keys, the members of clusters re-evaluated): small caches
# catch that without holding on to a long import's titles (a 1 GB import measured: bench/README.md).
@lru_cache(maxsize=8192)
def normalize_text(value: str) -> str:
    """Comparable form of a title or name: NFKC, case-folded, no Latin diacritics or punctuation, single spaces;
    common traditional Chinese characters become simplified."""
    text = unicodedata.normalize("NFKD", value)
    text = _LATIN_MARKS.sub("", text)
    text = unicodedata.normalize("NFKC", text).casefold().replace("&", " and ")
    text = " ".join(_PUNCTUATION.sub(" ", text).split())
    return _CJK_SPACES.sub("", text).translate(_TO_SIMPLIFIED) if _HAS_CJK.search(text) else text


def has_cjk(value: str) -> bool:
    """Whether the text contains Chinese, Japanese or Korean characters."""
    return _HAS_CJK.search(value) is not None


@lru_cache(maxsize=8192)
def title_key(title: str, nonfiling: int = 0) -> str:
    """Normalized title with leading articles removed: MARC's non-filing count first, then English articles."""
    if 0 < nonfiling < len(title):
        title = title[nonfiling:]
    lowered = title.lstrip(" \"'[(¿¡").lower()
    for article in _ARTICLES:
        if lowered.startswith(article) and len(lowered) > len(article) + 1:
            title = title.lstrip(" \"'[(¿¡")[len(article):]
            break
    return normalize_text(title)[:200]


@lru_cache(maxsize=4096)
def author_key(name: str | None) -> str:
    """First author as a key: `surname f` for inverted personal names (`Smith, John` -> `smith j`), else the
    whole normalized name."""
    if not name:
        return ""
    surname, comma, forenames = name.partition(",")
    if comma and not has_cjk(surname):
        given = normalize_text(forenames)
        return f"{normalize_text(surname)} {given[:1]}".strip()[:60]
    return normalize_text(name)[:60]


def year_of(value: str | None) -> int | None:
    """The first plausible four-digit year (1000-2099) in a date string like `c1999.` or `[2003?]`."""
    if not value:
        return None
    found = re.search(r"(?<![0-9])(1[0-9]{3}|20[0-9]{2})(?![0-9])", value)
    return int(found.group(1)) if found else None
