"""Settings and Locks, "Store Outputs/Logging/Reports": a flow stores the result of its work."""

import flow_api


def handler(system: flow_api.System, this: flow_api.Execution):
    # do some processing
    result = 42
    # store the result
    system.setting("occurrences_found").save(value=result)
    return this.success("all done")
