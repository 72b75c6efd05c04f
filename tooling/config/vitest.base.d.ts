/** Shared vitest settings for cutrec packages; `overrides` are merged into `test`. */
export declare function cutrecVitest(overrides?: Record<string, unknown>): { test: Record<string, unknown> };
