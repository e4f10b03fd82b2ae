/** Milliseconds in a second, minute and hour, for readable test periods. */
export const S = 1_000;
export const M = 60 * S;
export const H = 60 * M;

/**
 * The tracker periods unit tests use: hourly refresh, 6 h validity, 10 min grace, 30 min
 * expiry warning. Explicit here, so a change of the product's defaults does not move them.
 */
export const TEST_TIMINGS = { refreshInterval: H, validity: 6 * H, refreshGrace: 10 * M, expiryWarning: 30 * M } as const;
