"""ISO 18626 code lists the broker's staff actions use (reasonUnfilled; reasonRetry for conditions)."""

from __future__ import annotations

# ISO 18626 ReasonUnfilled, as published with the 2021 edition's code lists.
REASONS_UNFILLED = {
    "NotHeld": "Not held",
    "NotAvailableForILL": "Not available for interlibrary loan",
    "NotOnShelf": "Not on shelf",
    "OnLoan": "On loan",
    "InProcess": "In process",
    "Lost": "Lost or missing",
    "NonCirculating": "Does not circulate",
    "NotFoundAsCited": "Not found as cited",
    "OnOrder": "On order",
    "PolicyProblem": "Policy problem",
    "PoorCondition": "Poor condition",
    "Charges": "Charges not accepted",
    "AtBindery": "At the bindery",
    "CopyrightRestrictions": "Copyright restrictions",
    "LicenceRestriction": "Licence does not allow interlibrary use",
    "MaximumNumberOfRequestsExceeded": "Too many requests",
    "NoAnswer": "No answer in time",
}

# ISO 18626 ReasonRetry, the conditions a lender can attach to a conditional answer.
CONDITIONS = {
    "CostExceedsMaxCost": "Costs more than the maximum cost",
    "OnLoan": "On loan: can supply later",
    "NotCurrentlyAvailableForILL": "Not currently available",
    "AtBindery": "At the bindery",
    "LoanCondition": "Loan conditions apply (for example library use only)",
    "MultiVolAvail": "Only some volumes available",
    "NotFoundAsCited": "Not found as cited: a different edition is offered",
    "ReqDelInfoNotSupported": "Requested delivery method not supported",
    "ReqDelDateNotPossible": "Needed-by date not possible",
    "OnOrder": "On order",
}
