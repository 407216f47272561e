/**
 * The web client's Content-Security-Policy, in one place: the local front server sends it
 * (backend/local/front.ts) and infrastructure/template.yaml's SiteHeadersPolicy carries the
 * deployed one (test/support/template-checks.ts holds the two equal).
 *
 * No inline script anywhere, no `eval`; scripts, styles and API calls from our origin only,
 * plus Google Identity Services' script, styles and frame when Google sign-in is on. Without
 * Google, Trusted Types are required too: no string ever reaches an HTML sink (GIS itself is
 * not written for Trusted Types, so the deployed policy leaves them out).
 */
export const GOOGLE_SIGN_IN = "https://accounts.google.com/gsi/";

export interface CspOptions {
  /** Google Identity Services is loaded (deployed sign-in). */
  google: boolean;
  /** Origins portraits come from besides our own (the local S3; deployed they are under /media). */
  imageOrigins?: string[];
}

/** @example contentSecurityPolicy({ google: true }) // what CloudFront sends */
export function contentSecurityPolicy({ google, imageOrigins = [] }: CspOptions): string {
  const gsi = (path: string) => (google ? ` ${GOOGLE_SIGN_IN}${path}` : "");
  return [
    "default-src 'none'",
    `script-src 'self'${gsi("client")}`,
    `style-src 'self'${gsi("style")}`,
    `img-src 'self' data: blob:${imageOrigins.map((o) => ` ${o}`).join("")}`,
    `connect-src 'self'${gsi("")}`,
    ...(google ? [`frame-src ${GOOGLE_SIGN_IN}`] : []),
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(google ? [] : ["require-trusted-types-for 'script'", "trusted-types 'none'"]),
  ].join("; ");
}
