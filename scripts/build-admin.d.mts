/** Bundles the admin page into outDir (default dist/admin); resolves to the directory. */
export function buildAdmin(outDir?: string): Promise<string>;
