"""ISO 18626 codes the staff forms offer (the broker accepts exactly these); their labels are in the catalogues."""

from __future__ import annotations

# ReasonUnfilled, 2021 code list (without NoAnswer, which only the broker's timer gives).
REASONS_UNFILLED = ("NotOnShelf", "OnLoan", "NotHeld", "NotAvailableForILL", "InProcess", "Lost", "NonCirculating",
                    "NotFoundAsCited", "OnOrder", "PolicyProblem", "PoorCondition", "Charges", "AtBindery",
                    "CopyrightRestrictions", "LicenceRestriction", "MaximumNumberOfRequestsExceeded")
# ReasonRetry: the conditions of a conditional answer.
CONDITIONS = ("LoanCondition", "CostExceedsMaxCost", "OnLoan", "NotCurrentlyAvailableForILL", "AtBindery",
              "MultiVolAvail", "NotFoundAsCited", "ReqDelInfoNotSupported", "ReqDelDateNotPossible", "OnOrder")
