"""Policies shared by the digital twin and the real control plane.

The framework owns the loop, the policy owns the decision: a policy reads the system through a
read-only :class:`ClusterView` and returns a decision (a placement, a site, a replica count, a set of
suspected nodes, an offloading target, a cache hit). The same object runs in ``sim`` and ``operate``.
Policies are chosen by name in a scenario's ``policies`` section; :func:`make_policy` builds them.
"""

from edgescale.policies.autoscaling import TargetUtilization as TargetUtilization
from edgescale.policies.base import Autoscaler as Autoscaler
from edgescale.policies.base import CachePolicy as CachePolicy
from edgescale.policies.base import ClusterView as ClusterView
from edgescale.policies.base import Demand as Demand
from edgescale.policies.base import DeviceState as DeviceState
from edgescale.policies.base import Failure as Failure
from edgescale.policies.base import FailureDetector as FailureDetector
from edgescale.policies.base import LoadBalancer as LoadBalancer
from edgescale.policies.base import OffloadingPolicy as OffloadingPolicy
from edgescale.policies.base import OffloadTarget as OffloadTarget
from edgescale.policies.base import Outcome as Outcome
from edgescale.policies.base import Placement as Placement
from edgescale.policies.base import PlacementPolicy as PlacementPolicy
from edgescale.policies.base import Policy as Policy
from edgescale.policies.base import TaskClass as TaskClass
from edgescale.policies.caching import LRUCache as LRUCache
from edgescale.policies.caching import StaticCache as StaticCache
from edgescale.policies.failover import NearestFailover as NearestFailover
from edgescale.policies.failover import fail_over as fail_over
from edgescale.policies.heartbeat_timeout import HeartbeatTimeout as HeartbeatTimeout
from edgescale.policies.least_loaded import LeastLoaded as LeastLoaded
from edgescale.policies.nearest import Nearest as Nearest
from edgescale.policies.offloading import Estimate as Estimate
from edgescale.policies.offloading import FixedOffloading as FixedOffloading
from edgescale.policies.offloading import ThresholdOffloading as ThresholdOffloading
from edgescale.policies.offloading import estimate_offloading as estimate_offloading
from edgescale.policies.phi_accrual import PhiAccrual as PhiAccrual
from edgescale.policies.placement import EverywhereAllowed as EverywhereAllowed
from edgescale.policies.placement import FromPlan as FromPlan
from edgescale.policies.placement import LeastLoadedPlacement as LeastLoadedPlacement
from edgescale.policies.plan_weights import PlanWeights as PlanWeights
from edgescale.policies.power_of_two import PowerOfTwoChoices as PowerOfTwoChoices
from edgescale.policies.registry import POLICIES as POLICIES
from edgescale.policies.registry import check_policies as check_policies
from edgescale.policies.registry import make_policy as make_policy
from edgescale.policies.view import ArrayClusterView as ArrayClusterView
from edgescale.policies.water_filling import WaterFilling as WaterFilling

__all__ = [
    "POLICIES",
    "ArrayClusterView",
    "Autoscaler",
    "CachePolicy",
    "ClusterView",
    "Demand",
    "DeviceState",
    "Estimate",
    "EverywhereAllowed",
    "Failure",
    "FailureDetector",
    "FixedOffloading",
    "FromPlan",
    "HeartbeatTimeout",
    "LRUCache",
    "LeastLoaded",
    "LeastLoadedPlacement",
    "LoadBalancer",
    "Nearest",
    "NearestFailover",
    "OffloadTarget",
    "OffloadingPolicy",
    "Outcome",
    "PhiAccrual",
    "Placement",
    "PlacementPolicy",
    "PlanWeights",
    "Policy",
    "PowerOfTwoChoices",
    "StaticCache",
    "TargetUtilization",
    "TaskClass",
    "WaterFilling",
    "check_policies",
    "estimate_offloading",
    "fail_over",
    "make_policy",
]
