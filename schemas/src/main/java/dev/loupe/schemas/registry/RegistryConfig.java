package dev.loupe.schemas.registry;

import java.io.Serializable;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * Where the schema registry is and how to talk to it, as a Confluent-compatible client does: the base URL (the
 * Confluent API's root; Apicurio's is {@code .../apis/ccompat/v7}); HTTP basic credentials as {@code USER:PASSWORD}
 * (explicit, or in the URL's user-info) or a bearer token; a trust store for TLS; whether producers register their
 * schema under the subject (or only look up its id); the per-request timeout. Secrets never appear in
 * {@link #toString()}.
 *
 * @param basicAuthUserInfo {@code USER:PASSWORD}, or null (then the URL's user-info, if any)
 * @param bearerToken a token sent as {@code Authorization: Bearer}, or null
 * @param truststoreLocation a trust store file (JKS or PKCS12) for https, or null for the JVM's default
 * @param truststoreType its type, e.g. JKS or PKCS12
 */
public record RegistryConfig(URI url, String basicAuthUserInfo, String bearerToken, String truststoreLocation,
        String truststorePassword, String truststoreType, boolean autoRegister, Duration timeout)
        implements Serializable {

    public RegistryConfig {
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(timeout, "timeout");
        String scheme = url.getScheme();
        if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
                || url.getHost() == null) {
            throw new IllegalArgumentException("'" + withoutUserInfo(url) + "' is not an http(s) URL with a host");
        }
        if (basicAuthUserInfo != null && basicAuthUserInfo.indexOf(':') < 0) {
            throw new IllegalArgumentException("basic auth user info must be USER:PASSWORD");
        }
        if (bearerToken != null && (basicAuthUserInfo != null || url.getRawUserInfo() != null)) {
            throw new IllegalArgumentException("give either basic auth credentials or a bearer token, not both");
        }
        if (timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
    }

    /** A registry at {@code url} with no credentials, default trust, auto-registration and a 10 s timeout. */
    public static RegistryConfig of(String url) {
        return new RegistryConfig(URI.create(url), null, null, null, null, "JKS", true, Duration.ofSeconds(10));
    }

    /** The URL without user-info (credentials), safe to print. */
    public URI baseUrl() {
        return withoutUserInfo(url);
    }

    /** The basic auth {@code USER:PASSWORD} in effect: the explicit one, else the URL's user-info, else null. */
    public String effectiveUserInfo() {
        if (basicAuthUserInfo != null) {
            return basicAuthUserInfo;
        }
        String info = url.getUserInfo();
        return info == null || info.isEmpty() ? null : info;
    }

    private static URI withoutUserInfo(URI url) {
        try {
            return new URI(url.getScheme(), null, url.getHost(), url.getPort(), url.getPath(), null, null);
        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
            return URI.create("invalid:url");
        }
    }

    /** Redacted: credentials, token and trust store password are never shown. */
    @Override
    public String toString() {
        return "RegistryConfig{url=" + baseUrl()
                + (effectiveUserInfo() != null ? ", basic auth user " + effectiveUserInfo().split(":", 2)[0] : "")
                + (bearerToken != null ? ", bearer token [redacted]" : "")
                + (truststoreLocation != null ? ", truststore " + truststoreLocation + " (" + truststoreType + ")" : "")
                + ", autoRegister=" + autoRegister + ", timeout=" + timeout + "}";
    }
}
