/** A RESP reply as redisCommand resolves it: an error reply is an Error; a connection closed without one, the string `closed`. */
export type RedisReply = string | number | null | Error | RedisReply[];

/** Sends `args` to 127.0.0.1:`port` on a connection of its own (see redis-command.mjs). */
export function redisCommand(port: number, args: string[], options?: { timeoutMs?: number }): Promise<RedisReply>;

/** The `field:value` lines of an INFO reply as an object. */
export function parseInfo(text: string): Record<string, string>;
