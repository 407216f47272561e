/** esbuild bundles the stylesheet main.ts imports into its own hashed file. */
declare module "*.css";
