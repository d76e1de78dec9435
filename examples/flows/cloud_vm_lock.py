"""Settings and Locks, "Lock Objects": make sure only one cloud-vm is provisioned at once.

Start it twice at the same time: the second execution waits in status WAITING_LOCK until the
first frees the lock (or fails with LockTimeoutError after 60 seconds).
"""

import flow_api


def handler(system: flow_api.System, this: flow_api.Execution):
    # we try to acquire the lock
    system.setting("cloud-vm-lock").acquire(timeout=60)
    # start the flow which launches the cloud-vm (here: record that it runs, and for whom)
    system.setting("cloud-vm").save(value={"state": "running", "owner": this.get("name")})
    # use the cloud-vm (the page runs `sleep 30` on it through a connector)
    this.sleep(0.5)
    # delete the cloud-vm
    system.setting("cloud-vm").delete()
    # free the lock
    system.setting("cloud-vm-lock").release()
    return this.success("all done")
