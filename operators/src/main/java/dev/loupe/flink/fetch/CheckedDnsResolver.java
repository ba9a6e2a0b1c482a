package dev.loupe.flink.fetch;

import dev.loupe.model.api.AnnotationException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.apache.hc.client5.http.DnsResolver;

/**
 * The HTTP client's only resolver: it resolves a host through the {@link AddressPolicy} and returns exactly the
 * addresses the policy checked, so the client connects to a checked address and never to the answer of a second
 * lookup (no DNS-rebinding window). Every new connection, for the first URI and for each redirect hop, goes
 * through here; a refusal travels to the fetcher as a {@link Refused}.
 */
final class CheckedDnsResolver implements DnsResolver {
    private final AddressPolicy policy;

    CheckedDnsResolver(AddressPolicy policy) {
        this.policy = policy;
    }

    @Override
    public InetAddress[] resolve(String host) throws UnknownHostException {
        try {
            return policy.check(host);
        } catch (AnnotationException e) {
            throw new Refused(host, e);
        }
    }

    @Override
    public String resolveCanonicalHostname(String host) {
        return host;   // never used to connect; no lookup needed
    }

    /** The policy's refusal (or resolution failure), carried through the client's I/O exception path. */
    static final class Refused extends UnknownHostException {
        private static final long serialVersionUID = 1L;
        final transient AnnotationException reason;

        Refused(String host, AnnotationException reason) {
            super(host + ": " + reason.getMessage());
            this.reason = reason;
        }
    }
}
