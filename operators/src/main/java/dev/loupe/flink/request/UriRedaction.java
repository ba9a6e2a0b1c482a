package dev.loupe.flink.request;

/**
 * Shortens an image URI for failure messages and logs so that no secret travels with it: the user-info part
 * ({@code user:password@}) and the query and fragment (signed-URL tokens, API keys) are dropped, leaving
 * {@code https://host:port/path?…}. Works on text that is not a valid URI too, and caps the length.
 */
public final class UriRedaction {
    /** Longest redacted text; longer ones end in an ellipsis. */
    public static final int MAX_LENGTH = 300;

    private UriRedaction() {}

    public static String redact(String uri) {
        if (uri == null) {
            return null;
        }
        String s = uri;
        String marker = "";
        int query = s.indexOf('?');
        int fragment = s.indexOf('#');
        int cut = query < 0 ? fragment : fragment < 0 ? query : Math.min(query, fragment);
        if (cut >= 0) {
            marker = s.charAt(cut) == '?' ? "?…" : "#…";
            s = s.substring(0, cut);
        }
        int authorityStart = s.indexOf("//");
        if (authorityStart >= 0) {
            authorityStart += 2;
            int authorityEnd = s.indexOf('/', authorityStart);
            if (authorityEnd < 0) {
                authorityEnd = s.length();
            }
            int at = s.lastIndexOf('@', authorityEnd - 1);
            if (at >= authorityStart) {
                s = s.substring(0, authorityStart) + s.substring(at + 1);
            }
        } else {
            // opaque forms such as "http:user:pw@host/x" have no "//": drop anything up to an '@' anyway
            int colon = s.indexOf(':');
            int at = s.indexOf('@');
            if (colon >= 0 && at > colon) {
                s = s.substring(0, colon + 1) + s.substring(at + 1);
            }
        }
        s += marker;
        return s.length() <= MAX_LENGTH ? s : s.substring(0, MAX_LENGTH) + "…";
    }
}
