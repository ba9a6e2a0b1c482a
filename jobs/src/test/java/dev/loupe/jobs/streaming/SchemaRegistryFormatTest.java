package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.config.SchemaRegistryOptions;
import dev.loupe.jobs.testing.CompatibleSchemaRegistry;
import dev.loupe.jobs.testing.OlderRequestSchema;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.registry.RegistryConfig;
import dev.loupe.schemas.registry.RegistryFormat;
import dev.loupe.schemas.registry.SchemaNotFoundException;
import dev.loupe.schemas.registry.SchemaRegistryClient;
import dev.loupe.schemas.registry.SchemaRegistryException;
import dev.loupe.schemas.registry.WireFormat;
import dev.loupe.schemas.serde.AvroSerializer;
import dev.loupe.schemas.serde.ValueFormat;
import java.net.URI;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The schema registry wire format against a registry over HTTP: framing, topic-name subjects, reading values
 * written with an older schema version, and which failures are about the value (dead letters) and which about the
 * registry (restart).
 */
class SchemaRegistryFormatTest {

    private static CompatibleSchemaRegistry registry;

    @BeforeAll
    static void startRegistry() {
        registry = CompatibleSchemaRegistry.open();
    }

    @AfterAll
    static void stopRegistry() {
        registry.close();
    }

    private static RegistryFormat format() {
        return new RegistryFormat(RegistryConfig.of(registry.url()));
    }

    @Test
    void resultsAreFramedWithTheIdOfTheirSchemaRegisteredUnderTheTopicSubject() {
        AnnotationResult result = AnnotationResult.newBuilder().setId("r1").setTask("CAPTION").setText("a cat")
                .setModelId("m").setModelVersion("1")
                .setTimings(dev.loupe.schemas.Timings.newBuilder().build()).build();
        var serializer = format().serializer(AnnotationResult.class);
        byte[] first = serializer.serialize("fmt.results", result);
        byte[] second = serializer.serialize("fmt.results", result);

        List<Integer> versions = registry.versions("fmt.results-value");
        assertThat(versions).hasSize(1);
        int id = versions.get(0);
        assertThat(registry.schema(id)).isEqualTo(AnnotationResult.getClassSchema());
        assertThat(first[0]).isEqualTo(WireFormat.MAGIC_BYTE);
        assertThat(ByteBuffer.wrap(first, 1, 4).getInt()).isEqualTo(id);
        assertThat(WireFormat.payload(first)).isEqualTo(new AvroSerializer<>(AnnotationResult.class).serialize(result));
        assertThat(second).isEqualTo(first);
        assertThat(registry.count("POST", "/subjects/fmt.results-value/versions")).isEqualTo(1);
        assertThat(format().deserializer(AnnotationResult.class).deserialize("fmt.results", first)).isEqualTo(result);
    }

    @Test
    void aRequestWrittenWithAnOlderSchemaVersionIsReadWithTheNewFieldsDefaulted() {
        int v1 = registry.register("fmt.requests-value", OlderRequestSchema.V1);
        byte[] image = {1, 2, 3};
        byte[] value = WireFormat.frame(v1, OlderRequestSchema.inlineCaption("old-1", image));

        var deserializer = format().deserializer(AnnotationRequest.class);
        AnnotationRequest request = deserializer.deserialize("fmt.requests", value);
        AnnotationRequest again = deserializer.deserialize("fmt.requests", value);

        assertThat(request.getId()).isEqualTo("old-1");
        assertThat(request.getImage().getBytes()).isEqualTo(ByteBuffer.wrap(image));
        assertThat(request.getOcrTokens()).isEmpty();
        assertThat(request.getGeneration()).isNull();
        assertThat(request.getMetadata()).isEmpty();
        assertThat(again).isEqualTo(request);
        assertThat(registry.count("GET", "/schemas/ids/" + v1)).as("the schema is fetched once per id").isEqualTo(1);
    }

    @Test
    void unknownIdsBadMagicBytesAndUnresolvableSchemasAreErrorsOfTheValue() {
        var deserializer = format().deserializer(AnnotationRequest.class);
        byte[] plainAvro = new AvroSerializer<>(AnnotationRequest.class).serialize(dev.loupe.jobs.testing.Requests
                .inline("p", dev.loupe.schemas.Task.CAPTION, new byte[] {1}));

        assertThatThrownBy(() -> deserializer.deserialize("t", WireFormat.frame(987654, new byte[] {2, 'x'})))
                .isInstanceOf(SchemaNotFoundException.class).hasMessageContaining("schema id 987654");
        assertThatThrownBy(() -> deserializer.deserialize("t", plainAvro))
                .isInstanceOf(SerializationException.class).hasMessageContaining("magic byte");
        assertThatThrownBy(() -> deserializer.deserialize("t", new byte[] {0, 0, 1}))
                .isInstanceOf(SerializationException.class).hasMessageContaining("shorter than the 5-byte header");

        Schema idAsInt = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"AnnotationRequest\","
                + "\"namespace\":\"dev.loupe.schemas\",\"fields\":[{\"name\":\"id\",\"type\":\"int\"}]}");
        int incompatible = registry.register("fmt.other-value", idAsInt);
        assertThatThrownBy(() -> deserializer.deserialize("t", WireFormat.frame(incompatible, new byte[] {2})))
                .isInstanceOf(SerializationException.class).hasMessageContaining("cannot be read as");
    }

    @Test
    void anUnreachableRegistryIsNotAnErrorOfTheValue() {
        CompatibleSchemaRegistry down = CompatibleSchemaRegistry.open();
        down.stop();
        RegistryConfig config = new RegistryConfig(URI.create(down.url()), null, null, null, null, "JKS", true,
                Duration.ofSeconds(1));
        var deserializer = new RegistryFormat(config).deserializer(AnnotationFailure.class);

        assertThatThrownBy(() -> deserializer.deserialize("t", WireFormat.frame(1, new byte[] {0})))
                .isInstanceOf(SchemaRegistryException.class)
                .isNotInstanceOf(SerializationException.class)
                .hasMessageContaining("did not answer").hasMessageContaining("4 attempts");
    }

    @Test
    void basicAuthFromTheOptionOrTheUrlAndBearerTokensAreSent() {
        String basic = "Basic " + Base64.getEncoder().encodeToString("ann:s3cret".getBytes(StandardCharsets.UTF_8));
        try (CompatibleSchemaRegistry secured = CompatibleSchemaRegistry.open(basic);
                CompatibleSchemaRegistry bearer = CompatibleSchemaRegistry.open("Bearer t0ken")) {
            int id = secured.register("s-value", AnnotationFailure.getClassSchema());
            String withUser = secured.url().replace("http://", "http://ann:s3cret@");
            assertThat(new SchemaRegistryClient(RegistryConfig.of(withUser)).schemaById(id))
                    .isEqualTo(AnnotationFailure.getClassSchema());
            assertThat(new SchemaRegistryClient(config(secured.url(), "ann:s3cret", null)).schemaById(id))
                    .isEqualTo(AnnotationFailure.getClassSchema());
            assertThatThrownBy(() -> new SchemaRegistryClient(config(secured.url(), "ann:wrong", null)).schemaById(id))
                    .isInstanceOf(SchemaRegistryException.class).hasMessageContaining("HTTP 401")
                    .hasMessageContaining("credentials").hasMessageNotContaining("wrong");

            int bearerId = bearer.register("b-value", AnnotationFailure.getClassSchema());
            assertThat(new SchemaRegistryClient(config(bearer.url(), null, "t0ken")).schemaById(bearerId))
                    .isEqualTo(AnnotationFailure.getClassSchema());
        }
    }

    @Test
    void httpsRegistriesAreTrustedThroughTheConfiguredTrustStore(@TempDir Path dir) throws Exception {
        Path keyStore = dir.resolve("registry.p12");
        Path cert = dir.resolve("registry.crt");
        Path trustStore = dir.resolve("trust.p12");
        keytool("-genkeypair", "-alias", "registry", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1", "-storetype", "PKCS12",
                "-keystore", keyStore.toString(), "-storepass", "keypass");
        keytool("-exportcert", "-alias", "registry", "-keystore", keyStore.toString(), "-storepass", "keypass",
                "-file", cert.toString());
        keytool("-importcert", "-noprompt", "-alias", "registry", "-file", cert.toString(), "-storetype", "PKCS12",
                "-keystore", trustStore.toString(), "-storepass", "trustpass");
        try (CompatibleSchemaRegistry https = CompatibleSchemaRegistry.openTls(keyStore, "keypass")) {
            int id = https.register("tls-value", AnnotationFailure.getClassSchema());
            RegistryConfig trusting = new RegistryConfig(URI.create(https.url()), null, null, trustStore.toString(),
                    "trustpass", "PKCS12", true, Duration.ofSeconds(5));
            assertThat(new SchemaRegistryClient(trusting).schemaById(id)).isEqualTo(AnnotationFailure.getClassSchema());

            RegistryConfig jvmDefault = new RegistryConfig(URI.create(https.url()), null, null, null, null, "JKS",
                    true, Duration.ofSeconds(5));
            assertThatThrownBy(() -> new SchemaRegistryClient(jvmDefault).schemaById(id))
                    .isInstanceOf(SchemaRegistryException.class).hasMessageContaining("SSLHandshakeException");
        }
    }

    private static void keytool(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
    }

    @Test
    void withoutAutoRegisterTheSchemaMustAlreadyBeRegisteredUnderTheSubject() {
        RegistryConfig lookupOnly = new RegistryConfig(URI.create(registry.url()), null, null, null, null, "JKS",
                false, Duration.ofSeconds(5));
        AnnotationFailure failure = AnnotationFailure.newBuilder().setStage("decode").setErrorCode("X")
                .setMessage("m").setTimestampMillis(1L).build();
        var serializer = new RegistryFormat(lookupOnly).serializer(AnnotationFailure.class);

        assertThatThrownBy(() -> serializer.serialize("fmt.dead", failure))
                .isInstanceOf(SchemaRegistryException.class).hasMessageContaining("not registered under subject fmt.dead-value");
        int id = registry.register("fmt.dead-value", AnnotationFailure.getClassSchema());
        assertThat(WireFormat.schemaId(serializer.serialize("fmt.dead", failure))).isEqualTo(id);
        assertThat(registry.versions("fmt.dead-value")).containsExactly(id);
    }

    @Test
    void optionsSelectTheFormatAndSecretsAreNeverPrinted() {
        assertThat(RegistrySettings.valueFormat(new Configuration())).isSameAs(ValueFormat.PLAIN_AVRO);

        Configuration conf = new Configuration();
        conf.set(SchemaRegistryOptions.URL, "https://reg.example:8081/apis/ccompat/v7");
        conf.set(SchemaRegistryOptions.BASIC_AUTH_USER_INFO, "ann:s3cret");
        conf.set(SchemaRegistryOptions.AUTO_REGISTER, false);
        RegistryConfig config = RegistrySettings.from(conf).orElseThrow();
        assertThat(config.autoRegister()).isFalse();
        assertThat(config.effectiveUserInfo()).isEqualTo("ann:s3cret");
        assertThat(config.toString()).contains("reg.example", "ann").doesNotContain("s3cret");
        assertThat(RegistryConfig.of("http://bob:pw123@reg:8081").toString()).doesNotContain("pw123");

        Configuration both = new Configuration(conf);
        both.set(SchemaRegistryOptions.BEARER_AUTH_TOKEN, "Zq9xw");
        assertThatThrownBy(() -> RegistrySettings.from(both)).hasMessageContaining("not both")
                .hasMessageNotContaining("Zq9xw").hasMessageNotContaining("s3cret");
        Configuration noUrl = new Configuration();
        noUrl.set(SchemaRegistryOptions.BEARER_AUTH_TOKEN, "tok");
        assertThatThrownBy(() -> RegistrySettings.from(noUrl)).hasMessageContaining(SchemaRegistryOptions.URL.key());
        Configuration ftp = new Configuration();
        ftp.set(SchemaRegistryOptions.URL, "ftp://reg");
        assertThatThrownBy(() -> RegistrySettings.from(ftp)).hasMessageContaining("not an http(s) URL");
        Configuration badUserInfo = new Configuration();
        badUserInfo.set(SchemaRegistryOptions.URL, "http://reg:8081");
        badUserInfo.set(SchemaRegistryOptions.BASIC_AUTH_USER_INFO, "nocolon");
        assertThatThrownBy(() -> RegistrySettings.from(badUserInfo)).hasMessageContaining("USER:PASSWORD")
                .hasMessageNotContaining("nocolon");
    }

    private static RegistryConfig config(String url, String userInfo, String token) {
        return new RegistryConfig(URI.create(url), userInfo, token, null, null, "JKS", true, Duration.ofSeconds(5));
    }
}
