/** A port nobody listens on right now, outside the kernel's ephemeral range, not handed out before by this process. */
export function freePort(): Promise<number>;
