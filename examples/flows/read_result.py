"""Settings and Locks, "Store Outputs/Logging/Reports": another flow adapts to a stored result."""

import flow_api


def handler(system: flow_api.System, this: flow_api.Execution):
    count = system.setting("occurrences_found").get("value")
    if count > 32:
        # the page sends an alert e-mail here; the kit keeps the alert in a setting instead
        system.setting("counter_alert").save(
            value={
                "subject": "counter alert",
                "text": f"found {count} occurrences",
            },
        )
    return this.success("all done")
