import { createHash } from "node:crypto";
import type pg from "pg";

const names = new Map<string, string>();

/**
 * A query config that Postgres parses and plans once per connection (a named prepared
 * statement) when `named`, else an unnamed one, parsed and planned at each call. The turn's
 * statements are large CTEs whose planning cost as much as their execution (0.5 ms for the
 * turn's first statement); embedded Postgres (PGlite over its wire port, one session shared by
 * every connection) cannot keep named statements, so it passes `named = false`. The name is a
 * hash of the text: a name always means the same statement, on every connection.
 */
export function prepared(text: string, values: readonly unknown[], named: boolean): pg.QueryConfig {
  if (!named) return { text, values: [...values] };
  let name = names.get(text);
  if (!name) {
    name = `sb_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
    names.set(text, name);
  }
  return { name, text, values: [...values] };
}

/**
 * Part of a statement that another component's statement runs with its own (one round trip and
 * one commit less): common table expressions for its `with`, and a scalar expression over them
 * that the statement selects (a `with` query that nothing reads still runs; the expression
 * brings back what the part needs to know).
 */
export interface StatementPart {
  /** The CTEs, comma-separated, without `with`; their parameters are numbered from `first`. */
  ctes(first: number): string;
  readonly values: readonly unknown[];
  /** A scalar SQL expression over the CTEs. */
  readonly result: string;
}
