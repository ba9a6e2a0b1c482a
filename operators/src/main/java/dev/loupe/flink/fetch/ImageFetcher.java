package dev.loupe.flink.fetch;

import dev.loupe.flink.request.UriRedaction;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.UnsupportedFileSystemSchemeException;

/**
 * Reads an image's encoded bytes from a URI, blocking, with the pipeline's guards: {@code file:} only inside the
 * configured roots (checked on the normalised path and again on the real path, so neither {@code ..} nor a symlink
 * escapes); {@code http(s):} only to addresses the {@link AddressPolicy} allows (internal addresses refused by default,
 * checked after DNS resolution), following at most {@code maxRedirects} redirects by hand so that every hop's target
 * is checked the same way, all within one timeout; other schemes through Flink's file systems when a plugin serves
 * them. Reading stops one byte past the limit. Every failure is an {@link AnnotationException} with its code, and
 * its message names the URI only in {@link UriRedaction redacted} form.
 *
 * <p>DNS rebinding: the host is resolved for the check and again by the HTTP client when it connects. Both lookups
 * go through the JVM's address cache, which keeps a positive answer for {@code networkaddress.cache.ttl} (30 s by
 * default without a security manager), so the client connects to an address that was checked unless the cache
 * entry expires in between. Deployments that set that TTL to 0 reopen a small time-of-check/time-of-use window;
 * a fetch through an egress proxy that enforces the same rules closes it.
 *
 * <p>Thread-safe; {@link AsyncImageFetch} runs it on a bounded pool.
 */
public final class ImageFetcher {
    /** The configuration key of {@code maxRedirects}, named when a fetch exceeds it, and its default. */
    public static final String MAX_REDIRECTS_KEY = "loupe.fetch.max-redirects";
    public static final int DEFAULT_MAX_REDIRECTS = 5;

    private final List<Path> roots;
    private final List<Path> realRoots;
    private final long maxBytes;
    private final Duration timeout;
    private final AddressPolicy addresses;
    private final int maxRedirects;
    private final HttpClient http;

    public ImageFetcher(List<Path> roots, long maxBytes, Duration timeout, AddressPolicy addresses, int maxRedirects) {
        this.roots = new ArrayList<>();
        this.realRoots = new ArrayList<>();
        for (Path root : roots) {
            Path normal = root.toAbsolutePath().normalize();
            this.roots.add(normal);
            try {
                this.realRoots.add(normal.toRealPath());
            } catch (IOException e) {
                // a root that does not exist (yet) admits nothing real; keep only its normalised form
            }
        }
        this.maxBytes = maxBytes;
        this.timeout = timeout;
        this.addresses = addresses;
        this.maxRedirects = maxRedirects;
        this.http = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    public byte[] fetch(String uriText) throws AnnotationException {
        URI uri;
        try {
            uri = new URI(uriText);
        } catch (Exception e) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "not a valid URI: " + UriRedaction.redact(uriText));
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        return switch (scheme) {
            case "file" -> readFile(uri);
            case "http", "https" -> readHttp(uri);
            default -> readFlinkFileSystem(uri);
        };
    }

    /** Checks an inline image against the same empty/size rules as fetched ones. */
    public byte[] checkInline(byte[] bytes) throws AnnotationException {
        if (bytes.length == 0) {
            throw new AnnotationException(ErrorCode.IMAGE_EMPTY, "inline image has zero bytes");
        }
        if (bytes.length > maxBytes) {
            throw tooLarge("inline image");
        }
        return bytes;
    }

    /** The real path a file: URI may be read from, or PATH_NOT_ALLOWED / IMAGE_NOT_FOUND. */
    Path allowedPath(URI uri) throws AnnotationException {
        String shown = show(uri);
        Path path;
        try {
            if (uri.isOpaque() || uri.getAuthority() != null || uri.getQuery() != null || uri.getFragment() != null) {
                throw new IllegalArgumentException("not a local absolute file URI");
            }
            path = Path.of(uri.getPath());
        } catch (IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.PATH_NOT_ALLOWED, "not an allowed file URI: " + shown);
        }
        if (!path.isAbsolute()) {
            throw new AnnotationException(ErrorCode.PATH_NOT_ALLOWED, "file URI must be absolute: " + shown);
        }
        Path normal = path.normalize();
        if (roots.stream().noneMatch(normal::startsWith)) {
            throw notAllowed(uri);
        }
        Path real;
        try {
            real = normal.toRealPath();
        } catch (NoSuchFileException e) {
            throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "no such file: " + shown);
        } catch (IOException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot resolve " + shown + ": " + e.getMessage(), e);
        }
        if (realRoots.stream().noneMatch(real::startsWith)) {
            throw notAllowed(uri);
        }
        if (!Files.isRegularFile(real)) {
            throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "not a regular file: " + shown);
        }
        return real;
    }

    private byte[] readFile(URI uri) throws AnnotationException {
        Path real = allowedPath(uri);
        try (InputStream in = Files.newInputStream(real)) {
            return readLimited(in, show(uri), deadlineFromNow());
        } catch (NoSuchFileException e) {
            throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "no such file: " + show(uri));
        } catch (IOException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot read " + show(uri) + ": " + e.getMessage(), e);
        }
    }

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    /** GETs the URI, following redirects by hand: each hop's target passes the address policy before it is asked. */
    private byte[] readHttp(URI first) throws AnnotationException {
        long deadline = deadlineFromNow();
        String shownFirst = show(first);
        Set<URI> visited = new HashSet<>();
        URI uri = first;
        visited.add(uri.normalize());
        for (int redirects = 0; ; redirects++) {
            String shown = show(uri);
            addresses.check(uri.getHost() == null ? "" : uri.getHost());
            HttpResponse<InputStream> response = send(uri, deadline);
            int status = response.statusCode();
            if (isRedirect(status)) {
                closeQuietly(response.body());
                URI next = redirectTarget(uri, response);
                if (!visited.add(next.normalize())) {
                    throw new AnnotationException(ErrorCode.FETCH_FAILED, "redirect loop fetching " + shownFirst
                            + ": " + shown + " redirects back to " + show(next));
                }
                if (redirects >= maxRedirects) {
                    throw new AnnotationException(ErrorCode.FETCH_FAILED, "more than " + maxRedirects
                            + " redirects fetching " + shownFirst + " (" + MAX_REDIRECTS_KEY + ")");
                }
                uri = next;
                continue;
            }
            try (InputStream body = response.body()) {
                String where = uri.equals(first) ? shown : shown + " (redirected from " + shownFirst + ")";
                if (status == 404 || status == 410) {
                    throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "HTTP " + status + " for " + where);
                }
                if (status < 200 || status > 299) {
                    throw new AnnotationException(ErrorCode.FETCH_FAILED, "HTTP " + status + " for " + where);
                }
                long declared = response.headers().firstValueAsLong("Content-Length").orElse(-1);
                if (declared > maxBytes) {
                    throw tooLarge(where);
                }
                return readLimited(body, where, deadline);
            } catch (IOException e) {
                throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot read the body of " + shown + ": "
                        + scrub(e, uri), e);
            }
        }
    }

    private HttpResponse<InputStream> send(URI uri, long deadline) throws AnnotationException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw timedOut(show(uri));
        }
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(uri).timeout(Duration.ofNanos(left)).GET().build();
        } catch (IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "not a fetchable http(s) URI: " + show(uri));
        }
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpTimeoutException e) {
            throw timedOut(show(uri));
        } catch (IOException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot fetch " + show(uri) + ": " + scrub(e, uri), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AnnotationException(ErrorCode.FETCH_TIMEOUT, "fetch of " + show(uri) + " was interrupted");
        }
    }

    /** The absolute http(s) URI a redirect response points to, or FETCH_FAILED / ADDRESS_NOT_ALLOWED. */
    private static URI redirectTarget(URI from, HttpResponse<?> response) throws AnnotationException {
        String location = response.headers().firstValue("Location").orElse(null);
        if (location == null || location.isBlank()) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED,
                    "HTTP " + response.statusCode() + " without a Location from " + show(from));
        }
        URI next;
        try {
            next = from.resolve(new URI(location.strip()));
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, show(from) + " redirects to an invalid URI "
                    + UriRedaction.redact(location));
        }
        String scheme = next.getScheme() == null ? "" : next.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new AnnotationException(ErrorCode.ADDRESS_NOT_ALLOWED, show(from) + " redirects to "
                    + show(next) + "; only http(s) redirects are followed");
        }
        return next;
    }

    private byte[] readFlinkFileSystem(URI uri) throws AnnotationException {
        String shown = show(uri);
        FileSystem fs;
        try {
            fs = FileSystem.get(uri);
        } catch (UnsupportedFileSystemSchemeException e) {
            throw new AnnotationException(ErrorCode.UNSUPPORTED_SCHEME,
                    "no file system available for scheme '" + uri.getScheme() + "' (" + shown + ")");
        } catch (IOException | RuntimeException e) {
            throw new AnnotationException(ErrorCode.UNSUPPORTED_SCHEME,
                    "cannot open a file system for " + shown + ": " + scrub(e, uri), e);
        }
        org.apache.flink.core.fs.Path path = new org.apache.flink.core.fs.Path(uri);
        try (InputStream in = fs.open(path)) {
            return readLimited(in, shown, deadlineFromNow());
        } catch (FileNotFoundException | NoSuchFileException e) {
            throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "no such object: " + shown);
        } catch (IOException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot read " + shown + ": " + scrub(e, uri), e);
        }
    }

    private long deadlineFromNow() {
        return System.nanoTime() + timeout.toNanos();
    }

    /**
     * Reads at most maxBytes + 1 bytes (one more than the limit proves the image too large without reading it all),
     * before the deadline.
     */
    private byte[] readLimited(InputStream in, String label, long deadline) throws IOException, AnnotationException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        while (true) {
            if (System.nanoTime() - deadline > 0) {
                throw new AnnotationException(ErrorCode.FETCH_TIMEOUT, "reading " + label + " took longer than " + timeout);
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new AnnotationException(ErrorCode.FETCH_TIMEOUT, "reading " + label + " was cancelled");
            }
            int want = (int) Math.min(buffer.length, maxBytes + 1 - total);
            int n = in.read(buffer, 0, want);
            if (n < 0) {
                break;
            }
            total += n;
            if (total > maxBytes) {
                throw tooLarge(label);
            }
            out.write(buffer, 0, n);
        }
        if (total == 0) {
            throw new AnnotationException(ErrorCode.IMAGE_EMPTY, "image has zero bytes: " + label);
        }
        return out.toByteArray();
    }

    private AnnotationException timedOut(String label) {
        return new AnnotationException(ErrorCode.FETCH_TIMEOUT, "no response from " + label + " within " + timeout);
    }

    private AnnotationException tooLarge(String label) {
        return new AnnotationException(ErrorCode.IMAGE_TOO_LARGE, label + " exceeds the limit of " + maxBytes + " bytes");
    }

    private static AnnotationException notAllowed(URI uri) {
        return new AnnotationException(ErrorCode.PATH_NOT_ALLOWED, "outside the allowed image folders: " + show(uri));
    }

    private static String show(URI uri) {
        return UriRedaction.redact(uri.toString());
    }

    /** An exception's text with any copy of the URI in it redacted. */
    private static String scrub(Exception e, URI uri) {
        String text = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        String raw = uri.toString();
        return text.replace(raw, show(uri));
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // a redirect's body is not needed
        }
    }
}
