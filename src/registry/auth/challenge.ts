/**
 * WWW-Authenticate (RFC 9110 §11.6.1): one or more challenges, each a scheme and
 * auth-params, possibly several in one header (`Bearer realm="..",service="..", Basic realm=".."`).
 */

export interface Challenge {
  scheme: string; // lower case: "bearer", "basic"
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let s = header;
  const skip = (re: RegExp) => {
    const m = re.exec(s);
    if (m) s = s.slice(m[0].length);
    return m;
  };
  while (s.length > 0) {
    skip(/^[\s,]+/);
    const scheme = skip(TOKEN);
    if (!scheme) break;
    // Without a prototype, a param named __proto__ is a param like any other, and an absent
    // one is undefined whatever its name (not Object.prototype's toString, say).
    const challenge: Challenge = { scheme: scheme[0].toLowerCase(), params: Object.create(null) as Record<string, string> };
    out.push(challenge);
    for (;;) {
      const save = s;
      skip(/^[\s,]*/);
      const name = skip(TOKEN);
      if (!name || !skip(/^\s*=\s*/)) {
        s = save; // not a parameter: the next challenge's scheme
        break;
      }
      let value: string;
      if (s.startsWith('"')) {
        let i = 1;
        value = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i]!;
          i++;
        }
        s = s.slice(i + 1);
      } else {
        value = skip(/^[^\s,]*/)![0];
      }
      challenge.params[name[0].toLowerCase()] = value;
    }
  }
  return out;
}
