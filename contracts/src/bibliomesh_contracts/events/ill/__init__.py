from bibliomesh_contracts.events.ill.requests import STEP_EVENTS, RequestStepV1, ServiceType
from bibliomesh_contracts.events.ill.suggestions import AcquisitionSuggestedV1

__all__ = ["STEP_EVENTS", "AcquisitionSuggestedV1", "RequestStepV1", "ServiceType"]
