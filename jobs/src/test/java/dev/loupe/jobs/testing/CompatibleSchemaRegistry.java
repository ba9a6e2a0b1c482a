package dev.loupe.jobs.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

/**
 * A schema registry for tests, serving the subset of the Confluent REST API that Confluent-compatible clients use
 * (the same paths, bodies, status and error codes as Confluent Schema Registry and Apicurio's ccompat API):
 * {@code GET /schemas/ids/{id}}, {@code POST /subjects/{subject}/versions} (register; the same schema gets the same
 * id; BACKWARD compatibility against the latest version, else 409), {@code POST /subjects/{subject}} (look up),
 * {@code GET /subjects/{subject}/versions}. Schemas live in memory; {@link #stop()} and {@link #start()} take it down
 * and bring it back on the same port with the same schemas, to stage an outage. Optionally requires an
 * {@code Authorization} header, or serves https. Counts the requests per method and path.
 *
 * <p>Apicurio Registry 3.3.3 could not be assembled from the Maven repository reachable here (several of its
 * modules are not served), so the tests run against this server; see docs/streaming.md.
 */
public final class CompatibleSchemaRegistry implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final int port;
    private final String requiredAuthorization;
    private final javax.net.ssl.SSLContext tls;
    private final Map<Integer, Schema> schemas = new ConcurrentHashMap<>();
    private final Map<String, List<Integer>> versionsBySubject = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> requestCounts = new ConcurrentHashMap<>();
    private final AtomicInteger nextId = new AtomicInteger(1);
    private HttpServer server;

    private CompatibleSchemaRegistry(int port, String requiredAuthorization, javax.net.ssl.SSLContext tls) {
        this.port = port;
        this.requiredAuthorization = requiredAuthorization;
        this.tls = tls;
    }

    /** A registry on a free port of 127.0.0.1 that answers only requests with this Authorization header (null: all). */
    public static CompatibleSchemaRegistry open(String requiredAuthorization) {
        CompatibleSchemaRegistry registry = new CompatibleSchemaRegistry(dev.loupe.embedded.FreePorts.find(),
                requiredAuthorization, null);
        registry.start();
        return registry;
    }

    /** A registry serving https on 127.0.0.1 with the key in {@code keyStore} (PKCS12), open to all. */
    public static CompatibleSchemaRegistry openTls(java.nio.file.Path keyStore, String password) {
        try (var in = java.nio.file.Files.newInputStream(keyStore)) {
            java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
            store.load(in, password.toCharArray());
            var keys = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password.toCharArray());
            javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            CompatibleSchemaRegistry registry =
                    new CompatibleSchemaRegistry(dev.loupe.embedded.FreePorts.find(), null, context);
            registry.start();
            return registry;
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static CompatibleSchemaRegistry open() {
        return open(null);
    }

    /** Starts (again) on this registry's port, with the schemas it had. */
    public synchronized void start() {
        try {
            InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            if (tls == null) {
                server = HttpServer.create(address, 16);
            } else {
                var https = com.sun.net.httpserver.HttpsServer.create(address, 16);
                https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(tls));
                server = https;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/", this::handle);
        server.start();
    }

    /** Stops answering (connections are refused) until {@link #start()}. */
    public synchronized void stop() {
        if (server != null) {
            server.stop(0);
            server = null;
        }
    }

    public String url() {
        return (tls == null ? "http" : "https") + "://127.0.0.1:" + port;
    }

    /** Registers {@code schema} under {@code subject} directly (as another producer would), returning its id. */
    public int register(String subject, Schema schema) {
        synchronized (versionsBySubject) {
            int id = idOf(schema);
            List<Integer> versions = versionsBySubject.computeIfAbsent(subject, s -> new ArrayList<>());
            if (!versions.contains(id)) {
                versions.add(id);
            }
            return id;
        }
    }

    /** The ids registered under {@code subject}, oldest version first. */
    public List<Integer> versions(String subject) {
        return List.copyOf(versionsBySubject.getOrDefault(subject, List.of()));
    }

    public Schema schema(int id) {
        return schemas.get(id);
    }

    /** How many {@code method path} requests arrived, e.g. {@code count("GET", "/schemas/ids/1")}. */
    public int count(String method, String path) {
        AtomicInteger n = requestCounts.get(method + " " + path);
        return n == null ? 0 : n.get();
    }

    private int idOf(Schema schema) {
        for (var e : schemas.entrySet()) {
            if (e.getValue().equals(schema)) {
                return e.getKey();
            }
        }
        int id = nextId.getAndIncrement();
        schemas.put(id, schema);
        return id;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getRawPath();
            requestCounts.computeIfAbsent(method + " " + path, k -> new AtomicInteger()).incrementAndGet();
            if (requiredAuthorization != null
                    && !requiredAuthorization.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                reply(exchange, 401, error(401, "Unauthorized"));
                return;
            }
            String[] parts = path.substring(1).split("/");
            if (method.equals("GET") && parts.length == 3 && parts[0].equals("schemas") && parts[1].equals("ids")) {
                Schema schema = schemas.get(Integer.parseInt(parts[2]));
                if (schema == null) {
                    reply(exchange, 404, error(40403, "Schema " + parts[2] + " not found"));
                } else {
                    reply(exchange, 200, Map.of("schema", schema.toString()));
                }
            } else if (parts.length >= 2 && parts[0].equals("subjects")) {
                String subject = URLDecoder.decode(parts[1], StandardCharsets.UTF_8);
                if (method.equals("POST") && parts.length == 3 && parts[2].equals("versions")) {
                    registerFromRequest(exchange, subject);
                } else if (method.equals("POST") && parts.length == 2) {
                    lookUp(exchange, subject);
                } else if (method.equals("GET") && parts.length == 3 && parts[2].equals("versions")) {
                    List<Integer> versions = versions(subject);
                    if (versions.isEmpty()) {
                        reply(exchange, 404, error(40401, "Subject '" + subject + "' not found."));
                    } else {
                        List<Integer> numbers = new ArrayList<>();
                        for (int i = 1; i <= versions.size(); i++) {
                            numbers.add(i);
                        }
                        reply(exchange, 200, numbers);
                    }
                } else {
                    reply(exchange, 404, error(404, "HTTP 404 Not Found"));
                }
            } else {
                reply(exchange, 404, error(404, "HTTP 404 Not Found"));
            }
        } catch (RuntimeException e) {
            reply(exchange, 500, error(50001, e.toString()));
        }
    }

    private void registerFromRequest(HttpExchange exchange, String subject) throws IOException {
        Schema schema = parse(exchange);
        if (schema == null) {
            return;
        }
        synchronized (versionsBySubject) {
            List<Integer> versions = versionsBySubject.getOrDefault(subject, List.of());
            if (!versions.isEmpty() && !versions.contains(idOfExisting(schema))) {
                Schema latest = schemas.get(versions.get(versions.size() - 1));
                var compatibility = SchemaCompatibility.checkReaderWriterCompatibility(schema, latest);
                if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
                    reply(exchange, 409, error(409, "Schema being registered is incompatible with an earlier schema "
                            + "for subject \"" + subject + "\""));
                    return;
                }
            }
            reply(exchange, 200, Map.of("id", register(subject, schema)));
        }
    }

    private Integer idOfExisting(Schema schema) {
        return schemas.entrySet().stream().filter(e -> e.getValue().equals(schema)).map(Map.Entry::getKey)
                .findFirst().orElse(-1);
    }

    private void lookUp(HttpExchange exchange, String subject) throws IOException {
        Schema schema = parse(exchange);
        if (schema == null) {
            return;
        }
        List<Integer> versions = versions(subject);
        if (versions.isEmpty()) {
            reply(exchange, 404, error(40401, "Subject '" + subject + "' not found."));
            return;
        }
        int id = idOfExisting(schema);
        int version = versions.indexOf(id);
        if (version < 0) {
            reply(exchange, 404, error(40403, "Schema not found"));
            return;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("subject", subject);
        body.put("id", id);
        body.put("version", version + 1);
        body.put("schema", schema.toString());
        reply(exchange, 200, body);
    }

    private Schema parse(HttpExchange exchange) throws IOException {
        JsonNode body = JSON.readTree(exchange.getRequestBody());
        try {
            return new Schema.Parser().parse(body.path("schema").asText());
        } catch (RuntimeException e) {
            reply(exchange, 422, error(42201, "Invalid schema: " + e.getMessage()));
            return null;
        }
    }

    private static Map<String, Object> error(int code, String message) {
        return Map.of("error_code", code, "message", message);
    }

    private static void reply(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/vnd.schemaregistry.v1+json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        stop();
    }
}
