//! Signal cells: SIGTERM and SIGKILL while requests flow.
