/** A registry user and password, as the authorizer sends them (Basic, or to a token endpoint). */
export interface Credential {
  username: string;
  password: string;
  /** Where it came from, for logs ("docker config.json"), never the secret. */
  source: string;
}
