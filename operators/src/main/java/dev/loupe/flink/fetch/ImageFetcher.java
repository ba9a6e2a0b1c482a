package dev.loupe.flink.fetch;

import dev.loupe.flink.request.UriRedaction;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.SocketException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.channels.Channels;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.UnsupportedFileSystemSchemeException;
import org.apache.hc.client5.http.DnsResolver;
import org.apache.hc.client5.http.SchemePortResolver;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.DefaultHttpClientConnectionOperator;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.client5.http.io.DetachedSocketFactory;
import org.apache.hc.client5.http.io.HttpClientConnectionOperator;
import org.apache.hc.client5.http.ssl.DefaultClientTlsStrategy;
import org.apache.hc.client5.http.ssl.TlsSocketStrategy;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.ConnectionClosedException;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.HttpHeaders;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.http.NoHttpResponseException;
import org.apache.hc.core5.http.URIScheme;
import org.apache.hc.core5.http.config.Lookup;
import org.apache.hc.core5.http.config.RegistryBuilder;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;

/**
 * Reads an image's encoded bytes from a URI, blocking, with the pipeline's guards: {@code file:} only inside the
 * configured roots (checked on the normalised path and again on the real path, so neither {@code ..} nor a symlink
 * escapes); {@code http(s):} only to addresses the {@link AddressPolicy} allows (internal addresses refused by default,
 * checked after DNS resolution), following at most {@code maxRedirects} redirects by hand so that every hop's target
 * is checked the same way, all within one timeout; other schemes through Flink's file systems when a plugin serves
 * them. Reading stops one byte past the limit. Every failure is an {@link AnnotationException} with its code, and
 * its message names the URI only in {@link UriRedaction redacted} form.
 *
 * <p>http(s) goes through Apache HttpClient 5 with Loupe's {@link CheckedDnsResolver} as its only resolver: a new
 * connection resolves its host once, through the address policy, and connects to the addresses that were checked,
 * so no second lookup can rebind the name to an internal address (TLS is still verified against the host name).
 * Transient faults (connect failures, timeouts and resets of one attempt, HTTP 408, 425, 429, 500, 502, 503, 504)
 * are retried up to {@link HttpFetchOptions#maxAttempts()} times with exponential backoff and full jitter, honouring
 * {@code Retry-After} up to {@link HttpFetchOptions#retryMaxDelay()}; every wait counts against the one timeout, and
 * a fetch whose next wait would pass it fails at once with the last fault in its message. At most
 * {@link HttpFetchOptions#maxPerHost()} requests per host are in flight across this fetcher; connections are pooled
 * and reused. Sockets are channel-backed, so interrupting the fetching thread (Flink's async timeout does) aborts
 * a blocked connect or read.
 *
 * <p>Thread-safe; {@link AsyncImageFetch} runs it on a bounded pool and closes it.
 */
public final class ImageFetcher implements AutoCloseable {
    /** The configuration key of {@code maxRedirects}, named when a fetch exceeds it, and its default. */
    public static final String MAX_REDIRECTS_KEY = "loupe.fetch.max-redirects";
    public static final int DEFAULT_MAX_REDIRECTS = 5;
    /** The configuration key of the per-image timeout, named when retries give up because of it. */
    public static final String TIMEOUT_KEY = "loupe.fetch.timeout";

    /** Most pooled connections of one fetcher, over all hosts (in flight, the fetch pool's size bounds them). */
    private static final int MAX_CONNECTIONS = 256;

    /** Most bytes read per call, so the deadline and interrupt are checked between chunks. */
    private static final int READ_CHUNK = 64 * 1024;

    /**
     * Plain sockets backed by a {@link SocketChannel}: a thread blocked connecting or reading on one is woken by an
     * interrupt (the channel closes), which a classic {@link java.net.Socket} ignores.
     */
    static final DetachedSocketFactory INTERRUPTIBLE_SOCKETS = proxy -> SocketChannel.open().socket();

    private final List<Path> roots;
    private final List<Path> realRoots;
    private final long maxBytes;
    private final Duration timeout;
    private final AddressPolicy addresses;
    private final int maxRedirects;
    private final HttpFetchOptions httpOptions;
    private final RetryPolicy retries;
    private final HostLimiter hosts;
    private final FetchEvents events;
    private final CloseableHttpClient http;

    /** A fetcher with the default retry, per-host and User-Agent settings, reporting no events. */
    public ImageFetcher(List<Path> roots, long maxBytes, Duration timeout, AddressPolicy addresses, int maxRedirects) {
        this(roots, maxBytes, timeout, addresses, maxRedirects, HttpFetchOptions.defaults(), FetchEvents.NONE);
    }

    public ImageFetcher(List<Path> roots, long maxBytes, Duration timeout, AddressPolicy addresses, int maxRedirects,
                        HttpFetchOptions httpOptions, FetchEvents events) {
        this(roots, maxBytes, timeout, addresses, maxRedirects, httpOptions, events, INTERRUPTIBLE_SOCKETS,
                SYSTEM_TLS);
    }

    /**
     * With the sockets the HTTP client connects through (tests observe and restrict where connections go) and its TLS
     * (tests trust their own certificate).
     */
    ImageFetcher(List<Path> roots, long maxBytes, Duration timeout, AddressPolicy addresses, int maxRedirects,
                 HttpFetchOptions httpOptions, FetchEvents events, DetachedSocketFactory sockets,
                 TlsSocketStrategy tls) {
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
        this.httpOptions = httpOptions;
        this.retries = new RetryPolicy(httpOptions.retryBaseDelay(), httpOptions.retryMaxDelay());
        this.hosts = new HostLimiter(httpOptions.maxPerHost());
        this.events = events;
        this.http = newClient(new CheckedDnsResolver(addresses), httpOptions, timeout, sockets, tls);
    }

    /**
     * The HTTP client: the checked resolver is the connection operator's only resolver; no proxy, redirects, automatic
     * retries, cookies or content decoding (the byte limit applies to what the server sends).
     */
    private static CloseableHttpClient newClient(DnsResolver dns, HttpFetchOptions options, Duration timeout,
                                                 DetachedSocketFactory sockets, TlsSocketStrategy tlsStrategy) {
        Lookup<TlsSocketStrategy> tls = RegistryBuilder.<TlsSocketStrategy>create()
                .register(URIScheme.HTTPS.id, tlsStrategy)
                .build();
        PoolingHttpClientConnectionManager connections = new PoolingHttpClientConnectionManagerBuilder() {
            @Override
            protected HttpClientConnectionOperator createConnectionOperator(SchemePortResolver ports,
                                                                            DnsResolver ignored,
                                                                            TlsSocketStrategy ignoredTls) {
                return new DefaultHttpClientConnectionOperator(sockets, ports, dns, tls);
            }
        }
                .setMaxConnPerRoute(options.maxPerHost())
                .setMaxConnTotal(Math.max(MAX_CONNECTIONS, options.maxPerHost()))
                .setDefaultConnectionConfig(ConnectionConfig.custom()
                        .setConnectTimeout(Timeout.of(timeout))
                        .setSocketTimeout(Timeout.of(timeout))
                        .setValidateAfterInactivity(TimeValue.ofSeconds(1))
                        .setTimeToLive(TimeValue.ofMinutes(5))
                        .build())
                .build();
        return HttpClients.custom()
                .setConnectionManager(connections)
                .setUserAgent(options.userAgent())
                .disableRedirectHandling()
                .disableAutomaticRetries()
                .disableCookieManagement()
                .disableAuthCaching()
                .disableContentCompression()
                .build();
    }

    /**
     * The JVM's trust store and the default host name verifier (against the URI's host name, never the address),
     * set up on the first https connection rather than with every fetcher.
     */
    private static final class SystemTls {
        static final TlsSocketStrategy STRATEGY = DefaultClientTlsStrategy.createSystemDefault();
    }

    /** The JVM's TLS (trust store, host name verification), set up on first use. */
    static final TlsSocketStrategy SYSTEM_TLS = (socket, target, port, attachment, context) ->
            SystemTls.STRATEGY.upgrade(socket, target, port, attachment, context);

    /** Closes pooled connections. */
    @Override
    public void close() {
        http.close(CloseMode.IMMEDIATE);
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
        String shown = show(uri);
        try (FileChannel channel = FileChannel.open(real, StandardOpenOption.READ)) {
            // the open file's size (no second lookup of the path): a file over the limit is refused unread, and one
            // within it is read into an array of its size, no buffer grown and copied on the way
            long size = channel.size();
            if (size > maxBytes) {
                throw tooLarge(shown);
            }
            InputStream in = Channels.newInputStream(channel);
            return size < Integer.MAX_VALUE - 8 ? readSized(in, (int) size, shown, deadlineFromNow())
                    : readLimited(in, shown, deadlineFromNow());
        } catch (NoSuchFileException e) {
            throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "no such file: " + show(uri));
        } catch (IOException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot read " + show(uri) + ": " + e.getMessage(), e);
        }
    }

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    /** One hop's outcome: a redirect target, or the body of a 2xx response. */
    private record Hop(int status, URI redirect, byte[] body) {}

    /** A transient HTTP status, and the wait the server asked for (null: none). */
    private static final class TransientStatus extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;
        final transient Duration retryAfter;

        TransientStatus(int status, Duration retryAfter) {
            super(null, null, false, false);
            this.status = status;
            this.retryAfter = retryAfter;
        }
    }

    /**
     * GETs the URI, following redirects by hand (each hop's connection resolves and checks its host through the
     * address policy), each hop retried on transient faults, all before one deadline.
     */
    private byte[] readHttp(URI first) throws AnnotationException {
        long deadline = deadlineFromNow();
        String shownFirst = show(first);
        Set<URI> visited = new HashSet<>();
        URI uri = first;
        visited.add(uri.normalize());
        for (int redirects = 0; ; redirects++) {
            Hop hop = withRetries(uri, first, deadline);
            if (hop.redirect() == null) {
                return hop.body();
            }
            URI next = hop.redirect();
            if (!visited.add(next.normalize())) {
                throw new AnnotationException(ErrorCode.FETCH_FAILED, "redirect loop fetching " + shownFirst
                        + ": " + show(uri) + " redirects back to " + show(next));
            }
            if (redirects >= maxRedirects) {
                throw new AnnotationException(ErrorCode.FETCH_FAILED, "more than " + maxRedirects
                        + " redirects fetching " + shownFirst + " (" + MAX_REDIRECTS_KEY + ")");
            }
            uri = next;
        }
    }

    /** One hop, attempted until it succeeds, fails for good, runs out of attempts or would pass the deadline. */
    private Hop withRetries(URI uri, URI first, long deadline) throws AnnotationException {
        String where = where(uri, first);
        for (int attempt = 1; ; attempt++) {
            String fault;
            int status = 0;
            Duration asked = null;
            try {
                return attempt(uri, first, deadline);
            } catch (TransientStatus e) {
                status = e.status;
                asked = e.retryAfter;
                fault = "HTTP " + status;
            } catch (IOException e) {
                fault = transientFault(e, uri, deadline);
            }
            if (attempt >= httpOptions.maxAttempts()) {
                throw giveUp(status, fault + " for " + where + " after " + attempt + " attempt"
                        + (attempt == 1 ? "" : "s") + " (" + HttpFetchOptions.MAX_ATTEMPTS_KEY + ")");
            }
            Duration wait = retries.backoff(attempt);
            if (asked != null) {
                if (asked.compareTo(retries.maxDelay()) > 0) {
                    throw giveUp(status, fault + " for " + where + " asks to retry after " + asked.toSeconds()
                            + " s, longer than " + HttpFetchOptions.RETRY_MAX_DELAY_KEY + " (" + retries.maxDelay() + ")");
                }
                wait = wait.compareTo(asked) > 0 ? wait : asked;
            }
            if (System.nanoTime() + wait.toNanos() - deadline >= 0) {
                throw giveUp(status, fault + " for " + where + " after " + attempt + " attempt"
                        + (attempt == 1 ? "" : "s") + "; the next retry would pass " + TIMEOUT_KEY + " (" + timeout + ")");
            }
            events.retried();
            try {
                TimeUnit.NANOSECONDS.sleep(wait.toNanos());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw cancelled(show(uri));
            }
        }
    }

    private AnnotationException giveUp(int status, String message) {
        if (status > 0) {
            events.failedWithStatus(status);
        }
        return new AnnotationException(ErrorCode.FETCH_FAILED, message);
    }

    /**
     * One GET of one hop, holding one of the host's slots until its body is read.
     *
     * @throws TransientStatus for a status worth retrying
     * @throws IOException for an I/O fault, classified by {@link #transientFault}
     */
    private Hop attempt(URI uri, URI first, long deadline) throws AnnotationException, IOException, TransientStatus {
        if (uri.getHost() == null) {
            addresses.check("");   // the policy's message for a URI without a host
        }
        String host = unbracket(uri.getHost()).toLowerCase(Locale.ROOT);
        HttpHost target = new HttpHost(uri.getScheme().toLowerCase(Locale.ROOT), (InetAddress) null, unbracket(uri.getHost()),
                uri.getPort());
        try {
            if (!hosts.acquire(host, deadline)) {
                throw new AnnotationException(ErrorCode.FETCH_TIMEOUT, "no free slot for host " + host + " within "
                        + timeout + " (" + HttpFetchOptions.MAX_PER_HOST_KEY + " = " + httpOptions.maxPerHost()
                        + " requests in flight per host) fetching " + show(first));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw cancelled(show(uri));
        }
        HttpGet get = null;
        ClassicHttpResponse response = null;
        boolean readToTheEnd = false;
        try {
            get = request(uri, deadline);
            response = http.executeOpen(target, get, null);
            int status = response.getCode();
            if (isRedirect(status)) {
                return new Hop(status, redirectTarget(uri, response), null);
            }
            if (RetryPolicy.isTransient(status)) {
                Header retryAfter = response.getFirstHeader(HttpHeaders.RETRY_AFTER);
                throw new TransientStatus(status, RetryPolicy.retryAfter(retryAfter == null ? null : retryAfter.getValue(),
                        Instant.now()).orElse(null));
            }
            String where = where(uri, first);
            if (status == 404 || status == 410) {
                events.failedWithStatus(status);
                throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "HTTP " + status + " for " + where);
            }
            if (status < 200 || status > 299) {
                events.failedWithStatus(status);
                throw new AnnotationException(ErrorCode.FETCH_FAILED, "HTTP " + status + " for " + where);
            }
            HttpEntity entity = response.getEntity();
            if (entity == null) {
                throw new AnnotationException(ErrorCode.IMAGE_EMPTY, "image has zero bytes: " + where);
            }
            if (entity.getContentLength() > maxBytes) {
                throw tooLarge(where);
            }
            byte[] bytes = readLimited(entity.getContent(), where, deadline);
            readToTheEnd = true;   // the body's end released the connection back to the pool
            return new Hop(status, null, bytes);
        } finally {
            if (!readToTheEnd && get != null) {
                get.cancel();   // drop the connection instead of draining whatever the server still sends
            }
            if (response != null) {
                closeQuietly(response);
            }
            hosts.release(host);
        }
    }

    /** A GET of the URI's path and query (user-info and fragment are never sent), bounded by the deadline. */
    private HttpGet request(URI uri, long deadline) throws AnnotationException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw timedOut(show(uri));
        }
        Timeout bound = Timeout.ofMilliseconds(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        HttpGet get;
        try {
            get = new HttpGet(uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery());
        } catch (IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "not a fetchable http(s) URI: " + show(uri));
        }
        get.setConfig(connectBounded(RequestConfig.custom(), bound)
                .setConnectionRequestTimeout(bound)
                .setResponseTimeout(bound)
                .setRedirectsEnabled(false)
                .build());
        return get;
    }

    @SuppressWarnings("deprecation")   // the per-request connect timeout keeps a connect within the image's deadline
    private static RequestConfig.Builder connectBounded(RequestConfig.Builder config, Timeout bound) {
        return config.setConnectTimeout(bound);
    }

    /**
     * What an attempt's I/O fault was, when it is worth another attempt (connect failures, timeouts, resets, a closed
     * connection); otherwise the fetch's final failure: the address policy's refusal, FETCH_TIMEOUT when the deadline
     * passed or the thread was interrupted, FETCH_FAILED for the rest (TLS and protocol errors).
     */
    private String transientFault(IOException e, URI uri, long deadline) throws AnnotationException {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CheckedDnsResolver.Refused refused) {
                throw refused.reason;
            }
            if (t instanceof InterruptedException || t instanceof ClosedByInterruptException) {
                Thread.currentThread().interrupt();
            }
        }
        if (Thread.currentThread().isInterrupted()) {
            throw cancelled(show(uri));
        }
        if (System.nanoTime() - deadline >= 0) {
            throw timedOut(show(uri));
        }
        boolean transientFault = e instanceof InterruptedIOException   // connect and read timeouts of this attempt
                || e instanceof SocketException                         // refused, reset, broken pipe
                || e instanceof NoHttpResponseException                 // closed before any response
                || e instanceof ConnectionClosedException;              // closed mid-response
        if (!transientFault || e instanceof SSLException) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot fetch " + show(uri) + ": " + scrub(e, uri), e);
        }
        return scrub(e, uri);
    }

    private static String where(URI uri, URI first) {
        return uri.equals(first) ? show(uri) : show(uri) + " (redirected from " + show(first) + ")";
    }

    /** The absolute http(s) URI a redirect response points to, or FETCH_FAILED / ADDRESS_NOT_ALLOWED. */
    private static URI redirectTarget(URI from, ClassicHttpResponse response) throws AnnotationException {
        Header header = response.getFirstHeader(HttpHeaders.LOCATION);
        String location = header == null ? null : header.getValue();
        if (location == null || location.isBlank()) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED,
                    "HTTP " + response.getCode() + " without a Location from " + show(from));
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

    private static String unbracket(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
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
     * Reads a file of {@code size} bytes (at most maxBytes) into an array of that size, before the deadline, in
     * chunks of at most 64 KB with the deadline and interrupt checked between them. A file that changed while read
     * gives what it held: fewer bytes when it shrank, and, when it grew, the rest read as {@link #readLimited} does.
     */
    private byte[] readSized(InputStream in, int size, String label, long deadline)
            throws IOException, AnnotationException {
        byte[] bytes = new byte[size];
        int total = 0;
        while (total < size) {
            checkReading(label, deadline);
            int n = in.read(bytes, total, Math.min(READ_CHUNK, size - total));
            if (n < 0) {
                bytes = Arrays.copyOf(bytes, total);
                break;
            }
            total += n;
        }
        int more = total == size ? in.read() : -1;
        if (more >= 0) {
            ByteArrayOutputStream grown = new ByteArrayOutputStream(size + 1);
            grown.write(bytes, 0, size);
            grown.write(more);
            return readLimited(in, label, deadline, grown);
        }
        if (total == 0) {
            throw new AnnotationException(ErrorCode.IMAGE_EMPTY, "image has zero bytes: " + label);
        }
        return bytes;
    }

    /**
     * Reads at most maxBytes + 1 bytes (one more than the limit proves the image too large without reading it all),
     * before the deadline.
     */
    private byte[] readLimited(InputStream in, String label, long deadline) throws IOException, AnnotationException {
        return readLimited(in, label, deadline, new ByteArrayOutputStream());
    }

    /** As {@link #readLimited(InputStream, String, long)}, after the bytes already in {@code out}. */
    private byte[] readLimited(InputStream in, String label, long deadline, ByteArrayOutputStream out)
            throws IOException, AnnotationException {
        byte[] buffer = new byte[READ_CHUNK];
        long total = out.size();
        if (total > maxBytes) {
            throw tooLarge(label);
        }
        while (true) {
            checkReading(label, deadline);
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

    /** FETCH_TIMEOUT once the deadline has passed or the reading thread was interrupted (Flink's async timeout). */
    private void checkReading(String label, long deadline) throws AnnotationException {
        if (System.nanoTime() - deadline > 0) {
            throw new AnnotationException(ErrorCode.FETCH_TIMEOUT, "reading " + label + " took longer than " + timeout);
        }
        if (Thread.currentThread().isInterrupted()) {
            throw new AnnotationException(ErrorCode.FETCH_TIMEOUT, "reading " + label + " was cancelled");
        }
    }

    private AnnotationException timedOut(String label) {
        return new AnnotationException(ErrorCode.FETCH_TIMEOUT, "no response from " + label + " within " + timeout);
    }

    private AnnotationException cancelled(String label) {
        return new AnnotationException(ErrorCode.FETCH_TIMEOUT, "fetch of " + label + " was interrupted");
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

    private static void closeQuietly(ClassicHttpResponse response) {
        try {
            response.close();
        } catch (IOException e) {
            // the connection was dropped on purpose; nothing to release
        }
    }
}
