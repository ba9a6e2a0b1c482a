package dev.loupe.flink.fetch;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which hosts an http(s) image fetch may connect to, so that a request cannot make the pipeline reach internal
 * services (server-side request forgery). A host is resolved and EVERY address it resolves to is checked: loopback,
 * private (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10), carrier-grade NAT (100.64/10), unspecified,
 * multicast, broadcast/reserved (240/4) and cloud metadata endpoints (169.254.169.254, fd00:ec2::254,
 * {@code metadata.google.internal}) are refused with ADDRESS_NOT_ALLOWED, including such addresses embedded in
 * IPv6 (IPv4-compatible, NAT64 64:ff9b::/96). The allowlist ({@code loupe.fetch.allowed-hosts}) lifts the refusal
 * for exact host names (case-insensitive), IP literals and CIDR ranges (e.g. {@code 127.0.0.1},
 * {@code images.internal}, {@code 10.20.0.0/16}, {@code fd12::/16}).
 */
public final class AddressPolicy {
    /** The configuration key of the allowlist, named in refusals and validation messages. */
    public static final String ALLOWED_HOSTS_KEY = "loupe.fetch.allowed-hosts";

    private static final Set<String> METADATA_HOSTS = Set.of("metadata.google.internal", "metadata.goog");

    /** Resolves a host name (or IP literal) to all its addresses: the system resolver, or a test's. */
    @FunctionalInterface
    interface HostLookup {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    private final Set<String> allowedHosts = new HashSet<>();
    private final List<Cidr> allowedRanges = new ArrayList<>();
    private final HostLookup lookup;

    /** @param allowed host names, IP literals and CIDR ranges that may be fetched although internal */
    public AddressPolicy(List<String> allowed) {
        this(allowed, InetAddress::getAllByName);
    }

    /** A policy that resolves hosts with {@code lookup} (tests answer as a rebinding DNS server would). */
    AddressPolicy(List<String> allowed, HostLookup lookup) {
        this.lookup = lookup;
        for (String entry : allowed) {
            String e = entry.strip().toLowerCase(Locale.ROOT);
            if (e.isEmpty()) {
                continue;
            }
            if (e.contains("/") || isIpLiteral(e)) {
                allowedRanges.add(Cidr.parse(e));
            } else {
                allowedHosts.add(trimDot(e));
            }
        }
    }

    /**
     * Resolves the host and checks all its addresses.
     *
     * @return the addresses the host resolved to, all allowed
     * @throws AnnotationException ADDRESS_NOT_ALLOWED, or FETCH_FAILED when the name does not resolve
     */
    public InetAddress[] check(String host) throws AnnotationException {
        String name = trimDot(unbracket(host).toLowerCase(Locale.ROOT));
        if (name.isEmpty()) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "the URI has no host name or address that java.net.URI accepts");
        }
        boolean hostAllowed = allowedHosts.contains(name);
        if (!hostAllowed && METADATA_HOSTS.contains(name)) {
            throw refused(name, "a cloud metadata service");
        }
        InetAddress[] addresses;
        try {
            addresses = lookup.resolve(name);
        } catch (UnknownHostException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot resolve host " + name);
        }
        if (addresses == null || addresses.length == 0) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot resolve host " + name);
        }
        if (hostAllowed) {
            return addresses;
        }
        for (InetAddress address : addresses) {
            String why = internalKind(address);
            if (why != null && allowedRanges.stream().noneMatch(r -> r.contains(address))) {
                String shown = address.getHostAddress();
                throw refused(name.equals(shown) ? shown : name + " (" + shown + ")", why);
            }
        }
        return addresses;
    }

    /** What kind of internal address this is, or null for a public unicast address. */
    static String internalKind(InetAddress address) {
        byte[] b = address.getAddress();
        if (address instanceof Inet6Address) {
            byte[] embedded = embeddedIpv4(b);
            if (embedded != null) {
                try {
                    String kind = internalKind(InetAddress.getByAddress(embedded));
                    return kind == null ? null : kind + " embedded in IPv6";
                } catch (UnknownHostException e) {
                    throw new IllegalStateException(e);
                }
            }
            if (address.getHostAddress().equals(FD00_EC2_254)) {
                return "a cloud metadata address";
            }
            if ((b[0] & 0xFE) == 0xFC) {
                return "a private (unique local, fc00::/7) address";
            }
        } else {
            int first = b[0] & 0xFF;
            int second = b[1] & 0xFF;
            if (first == 169 && second == 254 && (b[2] & 0xFF) == 169 && (b[3] & 0xFF) == 254) {
                return "a cloud metadata address";
            }
            if (first == 0) {
                return "an unspecified (0.0.0.0/8) address";
            }
            if (first == 100 && (second & 0xC0) == 64) {
                return "a carrier-grade NAT (100.64.0.0/10) address";
            }
            if (first >= 240) {
                return "a reserved or broadcast address";
            }
        }
        if (address.isAnyLocalAddress()) {
            return "an unspecified address";
        }
        if (address.isLoopbackAddress()) {
            return "a loopback address";
        }
        if (address.isLinkLocalAddress()) {
            return "a link-local address";
        }
        if (address.isSiteLocalAddress()) {
            return "a private address";
        }
        if (address.isMulticastAddress()) {
            return "a multicast address";
        }
        return null;
    }

    private static final String FD00_EC2_254 = "fd00:ec2:0:0:0:0:0:254";

    /** The IPv4 address inside an IPv4-compatible (::a.b.c.d) or NAT64 (64:ff9b::/96) IPv6 address, else null. */
    private static byte[] embeddedIpv4(byte[] b) {
        boolean zeros = true;
        for (int i = 0; i < 12; i++) {
            zeros &= b[i] == 0;
        }
        boolean compatible = zeros && !(b[12] == 0 && b[13] == 0 && b[14] == 0 && (b[15] == 0 || b[15] == 1));
        boolean nat64 = b[0] == 0 && b[1] == 0x64 && (b[2] & 0xFF) == 0xFF && (b[3] & 0xFF) == 0x9B;
        for (int i = 4; nat64 && i < 12; i++) {
            nat64 = b[i] == 0;
        }
        return compatible || nat64 ? new byte[] {b[12], b[13], b[14], b[15]} : null;
    }

    private static AnnotationException refused(String what, String kind) {
        return new AnnotationException(ErrorCode.ADDRESS_NOT_ALLOWED, "refusing to fetch from " + what + ", " + kind
                + "; allow it with " + ALLOWED_HOSTS_KEY + " if it is a trusted image store");
    }

    private static boolean isIpLiteral(String s) {
        return s.matches("[0-9.]+") || s.contains(":");
    }

    private static String unbracket(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static String trimDot(String host) {
        return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    }

    /** An address range: a network address and a prefix length (a bare IP is a full-length prefix). */
    private record Cidr(byte[] network, int prefix) {
        static Cidr parse(String text) {
            int slash = text.indexOf('/');
            String ip = unbracket(slash < 0 ? text : text.substring(0, slash));
            if (!isIpLiteral(ip)) {
                throw new IllegalArgumentException(ALLOWED_HOSTS_KEY
                        + " entries are host names, IP addresses or CIDR ranges, got " + text);
            }
            byte[] network;
            try {
                network = InetAddress.getByName(ip).getAddress();   // a literal: no DNS lookup
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException(ALLOWED_HOSTS_KEY + ": bad address " + text, e);
            }
            int prefix = network.length * 8;
            if (slash >= 0) {
                try {
                    prefix = Integer.parseInt(text.substring(slash + 1));
                } catch (NumberFormatException e) {
                    prefix = -1;
                }
                if (prefix < 0 || prefix > network.length * 8) {
                    throw new IllegalArgumentException(ALLOWED_HOSTS_KEY
                            + ": bad prefix length in " + text);
                }
            }
            return new Cidr(network, prefix);
        }

        boolean contains(InetAddress address) {
            byte[] a = address.getAddress();
            if (a.length != network.length) {
                return false;
            }
            int bits = prefix;
            for (int i = 0; i < a.length && bits > 0; i++, bits -= 8) {
                int mask = bits >= 8 ? 0xFF : (0xFF << (8 - bits)) & 0xFF;
                if ((a[i] & mask) != (network[i] & mask)) {
                    return false;
                }
            }
            return true;
        }
    }
}
