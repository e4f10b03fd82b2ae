export declare const NODE_WIN_PACKAGE: string;
export declare const nodeWinVersion: string;
export declare const cacheDir: string;
export declare function withLock<T>(lockDir: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T>;
export declare function ensureNodeWinExe(): Promise<string | { skip: string }>;
export declare function findWine(): string | undefined;
export declare function wineEnv(prefix: string): Record<string, string>;
export declare function bootPrefix(wine: string, prefix: string): void;
export declare function wineserverFor(wine: string): string;
