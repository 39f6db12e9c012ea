/**
 * Compile-time checks. `Check<SameSet<A, B>>` fails to compile unless the unions A and B hold the
 * same members: used where two lists must agree (a schema and a catalog, a table and its keys).
 */
export type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type Check<T extends true> = T;
