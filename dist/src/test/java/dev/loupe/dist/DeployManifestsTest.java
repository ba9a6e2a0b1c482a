package dev.loupe.dist;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.config.JobOptions;
import dev.loupe.config.ModelOptions;
import dev.loupe.jobs.streaming.StreamingArguments;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExternalResourceOptions;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.TaskManagerOptions;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * Keeps the deployment files from rotting: every YAML file under {@code deploy/} parses, and the settings the job
 * depends on are there and readable by Flink's own typed options (GPU request and external-resource driver,
 * Prometheus reporter, checkpoint storage, the Avro system property, the job jar and its arguments).
 */
class DeployManifestsTest {
    private static final Path ROOT = Path.of(System.getProperty("loupe.root",
            Path.of(System.getProperty("loupe.fixtures", "../fixtures")).getParent().toString())).toAbsolutePath();
    private static final Path DEPLOY = ROOT.resolve("deploy");
    private static final String PROMETHEUS = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory";
    private static final String GPU_DRIVER = "org.apache.flink.externalresource.gpu.GPUDriverFactory";

    @Test
    void everyYamlFileUnderDeployParses() throws IOException {
        List<Path> files = yamlFiles();
        assertThat(files).isNotEmpty();
        for (Path file : files) {
            assertThat(documents(file)).as(file.toString()).isNotEmpty().allSatisfy(d -> assertThat(d).isNotNull());
        }
    }

    @Test
    void flinkDeploymentRequestsAGpuRunsTheJobJarAndReportsToPrometheus() throws IOException {
        Map<String, Object> deployment = documentOfKind("FlinkDeployment");
        Configuration conf = Configuration.fromMap(stringMap(at(deployment, "spec", "flinkConfiguration")));

        // GPUs: Flink's external resource framework with the GPU driver, and the Kubernetes request in the pod template
        assertThat(conf.get(ExternalResourceOptions.EXTERNAL_RESOURCE_LIST)).contains("gpu");
        Map<String, String> settings = conf.toMap();
        assertThat(Long.parseLong(settings.get(ExternalResourceOptions.getAmountConfigOptionForResource("gpu"))))
                .isPositive();
        assertThat(settings.get(ExternalResourceOptions.getExternalResourceDriverFactoryConfigOptionForResource("gpu")))
                .isEqualTo(GPU_DRIVER);
        Map<String, Object> tmContainer = mainContainer(at(deployment, "spec", "taskManager", "podTemplate"));
        assertThat(Integer.parseInt(String.valueOf(at(tmContainer, "resources", "limits").get("nvidia.com/gpu"))))
                .isPositive();
        assertThat(conf.get(TaskManagerOptions.NUM_TASK_SLOTS)).isEqualTo(1);

        // checkpoints, the Avro property, Prometheus
        assertThat(conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)).isNotBlank();
        assertThat(conf.get(CheckpointingOptions.SAVEPOINT_DIRECTORY)).isNotBlank();
        assertThat(conf.get(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS)).isPositive();
        assertThat(conf.get(CoreOptions.FLINK_JVM_OPTIONS)).contains("-Dorg.apache.avro.SERIALIZABLE_PACKAGES=dev.loupe")
                .contains("--add-modules jdk.incubator.vector"); // the vector resampling passes
        assertThat(conf.toMap()).containsEntry("metrics.reporter.prom.factory.class", PROMETHEUS);
        String promPort = conf.toMap().get("metrics.reporter.prom.port");
        assertThat(promPort).isNotNull();
        Map<String, Object> podContainer = mainContainer(at(deployment, "spec", "podTemplate"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> ports = (List<Map<String, Object>>) podContainer.get("ports");
        assertThat(ports).anySatisfy(p -> {
            assertThat(p.get("name")).isEqualTo("metrics");
            assertThat(String.valueOf(p.get("containerPort"))).isEqualTo(promPort);
        });
        Map<String, Object> podMonitor = documentOfKind("PodMonitor");
        assertThat(at(podMonitor, "spec", "selector", "matchLabels"))
                .containsEntry("app", at(deployment, "metadata").get("name"));
        assertThat(String.valueOf(List.copyOf((List<?>) at(podMonitor, "spec").get("podMetricsEndpoints")).get(0)))
                .contains("port=metrics");

        // the shaded job jar the dist module builds, and arguments the job's entry point accepts
        Map<String, Object> job = at(deployment, "spec", "job");
        assertThat(job.get("jarURI")).isEqualTo("local:///opt/flink/usrlib/loupe-job.jar");
        assertThat(job.get("entryClass")).isEqualTo("dev.loupe.jobs.streaming.StreamingAnnotationJob");
        List<String> args = ((List<?>) job.get("args")).stream().map(String::valueOf).toList();
        Configuration jobConf = StreamingArguments.ARGUMENTS.parse(Map.of(), args.toArray(String[]::new));
        assertThat(jobConf.get(JobOptions.BOOTSTRAP_SERVERS)).isNotBlank();
        assertThat(jobConf.get(ModelOptions.MODEL)).isNotBlank();
        assertThat(Files.readString(DEPLOY.resolve("Dockerfile")))
                .contains("dist/target/loupe-job.jar /opt/flink/usrlib/loupe-job.jar")
                .contains("plugins/metrics-prometheus/")
                .contains("libturbojpeg");
    }

    @Test
    void clusterConfigYamlHasCheckpointStorageThePrometheusReporterAndTheAvroProperty() {
        Configuration conf = GlobalConfiguration.loadConfiguration(DEPLOY.resolve("flink-conf").toString());
        assertThat(conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)).isNotBlank();
        assertThat(conf.get(CheckpointingOptions.SAVEPOINT_DIRECTORY)).isNotBlank();
        assertThat(conf.get(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS)).isPositive();
        assertThat(conf.get(CoreOptions.FLINK_JVM_OPTIONS)).contains("-Dorg.apache.avro.SERIALIZABLE_PACKAGES=dev.loupe")
                .contains("--add-modules jdk.incubator.vector"); // the vector resampling passes
        assertThat(conf.toMap()).containsEntry("metrics.reporter.prom.factory.class", PROMETHEUS);
    }

    private static List<Path> yamlFiles() throws IOException {
        try (Stream<Path> walk = Files.walk(DEPLOY)) {
            return walk.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .filter(p -> !p.toString().contains("/target/")).sorted().toList();
        }
    }

    private static List<Object> documents(Path file) throws IOException {
        List<Object> docs = new ArrayList<>();
        new Load(LoadSettings.builder().build()).loadAllFromString(Files.readString(file)).forEach(docs::add);
        return docs;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> documentOfKind(String kind) throws IOException {
        List<Map<String, Object>> found = new ArrayList<>();
        for (Path file : yamlFiles()) {
            for (Object doc : documents(file)) {
                if (doc instanceof Map<?, ?> map && kind.equals(map.get("kind"))) {
                    found.add((Map<String, Object>) map);
                }
            }
        }
        assertThat(found).as("documents of kind %s under %s", kind, DEPLOY).hasSize(1);
        return found.get(0);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> at(Map<String, Object> node, String... path) {
        Map<String, Object> current = node;
        for (String key : path) {
            Object next = current.get(key);
            assertThat(next).as("key %s", String.join(".", path)).isInstanceOf(Map.class);
            current = (Map<String, Object>) next;
        }
        return current;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> mainContainer(Map<String, Object> podTemplate) {
        List<Map<String, Object>> containers = (List<Map<String, Object>>) at(podTemplate, "spec").get("containers");
        return containers.stream().filter(c -> "flink-main-container".equals(c.get("name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no flink-main-container in " + podTemplate));
    }

    private static Map<String, String> stringMap(Map<String, Object> map) {
        Map<String, String> strings = new java.util.HashMap<>();
        map.forEach((k, v) -> strings.put(k, Objects.toString(v)));
        return strings;
    }
}
