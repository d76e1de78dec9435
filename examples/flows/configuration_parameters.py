"""Settings and Locks, "Store Configuration Parameters": a flow reads its configuration.

Seed the setting first, as on the page:

    curl -X POST "$CLOUDOMATION_URL/setting" -H "Authorization: $CLOUDOMATION_TOKEN" \
        -d '{"name": "notification_emails", "value": ["ops@example.com", "dev@example.com"]}'
"""

import flow_api


def handler(system: flow_api.System, this: flow_api.Execution):
    # we use the setting named "notification_emails" and access its value
    emails = system.setting("notification_emails").get("value")
    # the page sends an e-mail here through an SMTP connector, which the kit does not have;
    # the notification is kept in a setting instead, so its content can be checked
    system.setting("notification_outbox").save(
        value={
            "name": "send notification",
            "recipients": emails,
            "subject": "notification from Cloudomation",
            "text": "test email content",
        },
    )
    return this.success("all done")
