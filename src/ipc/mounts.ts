// Where the host mounts things inside a sandbox. Kept apart from the protocol's schemas so the runner's first
// steps can use them without loading a validation library.
export const IPC_MOUNT = '/ipc';
export const MODEL_SOCKET = '/run/carapace/model.sock';
export const EGRESS_SOCKET = '/run/carapace/egress.sock';
/** The group's folder inside the sandbox: the agent's working directory. */
export const GROUP_MOUNT = '/workspace/group';
