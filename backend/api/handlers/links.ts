/**
 * Every URL the API hands out is absolute, built from PUBLIC_BASE_URL: the API under
 * `<base>/api` (as CloudFront routes it, and as ./run.sh serves it), the survey page a
 * friend opens under `<base>/s/`.
 */
export interface Links {
  /** @example links.api(`/v1/chats/${chatId}`) // "https://remirai.app/api/v1/chats/…" */
  api(path: string): string;
  /** The page friends open: `<base>/s/<survey_id>`. */
  survey(surveyId: string): string;
}

export function linksFor(publicBaseUrl: string): Links {
  return {
    api: (path) => `${publicBaseUrl}/api${path}`,
    survey: (surveyId) => `${publicBaseUrl}/s/${encodeURIComponent(surveyId)}`,
  };
}
