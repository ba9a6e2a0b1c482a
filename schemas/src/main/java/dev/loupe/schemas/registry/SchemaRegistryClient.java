package dev.loupe.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;
import org.apache.kafka.common.errors.SerializationException;

/**
 * A small client of the Confluent-compatible schema registry REST API (Confluent Schema Registry, Apicurio's
 * {@code /apis/ccompat/v7}, Karapace, Redpanda): fetch a schema by id, register a schema under a subject, or look up
 * the id of a schema already registered. Schemas and ids are cached for the client's life (an id's schema never
 * changes). Connection failures, timeouts and 5xx/429 answers are retried a few times with backoff, then raise
 * {@link SchemaRegistryException}; a 404 for a schema id raises {@link SchemaNotFoundException}. Thread-safe.
 */
public final class SchemaRegistryClient {

    static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ATTEMPTS = 4;
    private static final long FIRST_BACKOFF_MS = 200;

    private final RegistryConfig config;
    private final HttpClient http;
    private final String base;
    private final String authorization;
    private final Map<Integer, Schema> schemaById = new ConcurrentHashMap<>();
    private final Map<String, Integer> idBySubjectAndSchema = new ConcurrentHashMap<>();

    public SchemaRegistryClient(RegistryConfig config) {
        this.config = config;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(config.timeout())
                .followRedirects(HttpClient.Redirect.NORMAL);
        if (config.truststoreLocation() != null) {
            builder.sslContext(sslContext(config));
        }
        this.http = builder.build();
        String url = config.baseUrl().toString();
        this.base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        String userInfo = config.effectiveUserInfo();
        this.authorization = config.bearerToken() != null ? "Bearer " + config.bearerToken()
                : userInfo != null ? "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8))
                : null;
    }

    public RegistryConfig config() {
        return config;
    }

    /**
     * The Avro schema with registry id {@code id}. Throws {@link SchemaNotFoundException} when the registry has
     * none, SerializationException when it is not an Avro schema, {@link SchemaRegistryException} when the registry
     * cannot be asked.
     */
    public Schema schemaById(int id) {
        Schema known = schemaById.get(id);
        if (known != null) {
            return known;
        }
        Response r = send("GET", "/schemas/ids/" + id, null);
        if (r.status == 404) {
            throw new SchemaNotFoundException("schema id " + id + " is not in the schema registry at " + base
                    + r.detail());
        }
        r.requireOk("fetching schema id " + id);
        JsonNode body = r.json();
        String type = body.path("schemaType").asText("AVRO");
        if (!type.equalsIgnoreCase("AVRO")) {
            throw new SerializationException("schema id " + id + " is a " + type + " schema, not Avro");
        }
        Schema schema;
        try {
            schema = new Schema.Parser().parse(body.path("schema").asText());
        } catch (SchemaParseException e) {
            throw new SerializationException("schema id " + id + " is not a valid Avro schema: " + e.getMessage(), e);
        }
        schemaById.putIfAbsent(id, schema);
        return schema;
    }

    /** Registers {@code schema} under {@code subject} (a no-op returning the id when it is already there). */
    public int register(String subject, Schema schema) {
        return idBySubjectAndSchema.computeIfAbsent(subject + "\n" + schema, k -> {
            Response r = send("POST", "/subjects/" + encode(subject) + "/versions", body(schema));
            if (r.status == 409) {
                throw new SchemaRegistryException("the schema registry refuses " + schema.getFullName()
                        + " under subject " + subject + " as incompatible with the versions there" + r.detail());
            }
            r.requireOk("registering " + schema.getFullName() + " under subject " + subject);
            return cache(r.json().path("id").asInt(), schema);
        });
    }

    /** The id of {@code schema} as registered under {@code subject}; throws SchemaRegistryException when it is not. */
    public int lookup(String subject, Schema schema) {
        return idBySubjectAndSchema.computeIfAbsent(subject + "\n" + schema, k -> {
            Response r = send("POST", "/subjects/" + encode(subject), body(schema));
            if (r.status == 404) {
                throw new SchemaRegistryException(schema.getFullName() + " is not registered under subject " + subject
                        + " in the schema registry at " + base + r.detail()
                        + "; register it, or let loupe register it (auto-register)");
            }
            r.requireOk("looking up " + schema.getFullName() + " under subject " + subject);
            return cache(r.json().path("id").asInt(), schema);
        });
    }

    /** The id a producer frames {@code schema} with under {@code subject}: registered, or looked up without auto-register. */
    public int idFor(String subject, Schema schema) {
        return config.autoRegister() ? register(subject, schema) : lookup(subject, schema);
    }

    private int cache(int id, Schema schema) {
        schemaById.putIfAbsent(id, schema);
        return id;
    }

    private static String body(Schema schema) {
        try {
            return JSON.writeValueAsString(Map.of("schemaType", "AVRO", "schema", schema.toString()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String encode(String subject) {
        return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Sends one request, retrying connection failures, timeouts, 5xx and 429; other answers are returned. */
    private Response send(String method, String path, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(config.timeout())
                .header("Accept", CONTENT_TYPE + ", application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (body != null) {
            request.header("Content-Type", CONTENT_TYPE);
        }
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        String failure = null;
        long backoff = FIRST_BACKOFF_MS;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                HttpResponse<String> response = http.send(request.build(),
                        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                Response r = new Response(response.statusCode(), response.body());
                if (r.status < 500 && r.status != 429) {
                    return r;
                }
                failure = "HTTP " + r.status + r.detail();
            } catch (IOException e) {
                failure = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SchemaRegistryException("interrupted while asking the schema registry at " + base, e);
            }
            if (attempt < ATTEMPTS) {
                sleep(backoff);
                backoff *= 3;
            }
        }
        throw new SchemaRegistryException("the schema registry at " + base + " did not answer " + method + " " + path
                + " after " + ATTEMPTS + " attempts: " + failure);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaRegistryException("interrupted while waiting to retry the schema registry", e);
        }
    }

    private static SSLContext sslContext(RegistryConfig config) {
        try (InputStream in = Files.newInputStream(Path.of(config.truststoreLocation()))) {
            KeyStore store = KeyStore.getInstance(config.truststoreType());
            char[] password = config.truststorePassword() == null ? null : config.truststorePassword().toCharArray();
            store.load(in, password);
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot load the schema registry trust store "
                    + config.truststoreLocation() + " (" + config.truststoreType() + "): " + e.getMessage(), e);
        }
    }

    private final class Response {
        final int status;
        final String body;

        Response(int status, String body) {
            this.status = status;
            this.body = body == null ? "" : body;
        }

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new SchemaRegistryException("the schema registry at " + base + " answered with invalid JSON: "
                        + abbreviate(body), e);
            }
        }

        /** The registry's error message, e.g. {@code " (40403: Schema not found)"}, or nothing. */
        String detail() {
            try {
                JsonNode error = JSON.readTree(body);
                if (error != null && error.has("message")) {
                    return " (" + (error.has("error_code") ? error.get("error_code").asText() + ": " : "")
                            + abbreviate(error.get("message").asText()) + ")";
                }
            } catch (IOException notJson) {
                // fall through
            }
            return body.isBlank() ? "" : " (" + abbreviate(body) + ")";
        }

        void requireOk(String what) {
            if (status / 100 == 2) {
                return;
            }
            String why = status == 401 || status == 403
                    ? " (check the schema registry credentials: basic auth user info or bearer token)" : "";
            throw new SchemaRegistryException("the schema registry at " + base + " answered HTTP " + status + " to "
                    + what + detail() + why);
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }
}
