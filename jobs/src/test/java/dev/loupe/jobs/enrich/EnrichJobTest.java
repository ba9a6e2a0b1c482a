package dev.loupe.jobs.enrich;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.loupe.config.JobOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.batch.Scheduling;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.table.Column;
import dev.loupe.jobs.table.ColumnType;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.TableSchema;
import dev.loupe.jobs.table.TableWriter;
import dev.loupe.jobs.table.Tables;
import dev.loupe.model.api.AnnotatorFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/** The enrichment job on a MiniCluster with the fast echo model: columns, bad rows, types, and resuming. */
class EnrichJobTest {

    @TempDir
    Path dir;

    @TempDir
    Path outside;

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

    @Test
    void addsColumnsKeepsTypesAndKeepsBadRowsWithTheirError() throws Exception {
        TableSchema schema = TableSchema.of(Column.of("id", ColumnType.LONG), Column.string("path"),
                Column.of("width", ColumnType.INT), Column.of("weight", ColumnType.DOUBLE));
        TestImages.png(dir.resolve("images/a.png"), 1);
        TestImages.png(dir.resolve("images/b.png"), 2);
        TestImages.corrupt(dir.resolve("images/corrupt.png"));
        Path elsewhere = TestImages.png(outside.resolve("c.png"), 3);
        byte[] served = Files.readAllBytes(dir.resolve("images/b.png"));
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/b.png", exchange -> {
            exchange.sendResponseHeaders(200, served.length);
            exchange.getResponseBody().write(served);
            exchange.close();
        });
        server.start();
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/b.png";
        Path input = dir.resolve("in.parquet");
        write(input, schema, List.of(
                TableRow.of(1L, "images/a.png", 16, 0.5),
                TableRow.of(2L, "images/missing.png", null, 1.5),
                TableRow.of(3L, dir.resolve("images/b.png").toString(), 16, null),
                TableRow.of(4L, "", 8, 2.5),
                TableRow.of(5L, "images/corrupt.png", 8, 3.5),
                TableRow.of(6L, "images/a.png", 16, 4.5),
                TableRow.of(7L, url, 16, null),
                TableRow.of(8L, elsewhere.toUri().toString(), 16, null)));
        Path output = dir.resolve("out.parquet");
        Configuration config = config(input, output, "path");
        config.set(EnrichOptions.QUESTIONS, List.of("answer_color=What color is it?", "Is it big?"));
        config.set(EnrichOptions.CANDIDATES, Map.of("kind", "cat|dog|bird"));
        config.set(EnrichOptions.CANDIDATE_SCORES, true);
        config.set(LoupeOptions.FETCH_ALLOWED_HOSTS, List.of("127.0.0.1"));
        String counter = counter();

        EnrichJob.Report report;
        try {
            report = run(config, new CountingAnnotatorFactory(counter, 0, null));
        } finally {
            server.stop(0);
        }

        assertThat(report.complete()).as(printed()).isTrue();
        // 3 distinct good images × 4 columns (row 6 repeats row 1's image: annotated once)
        assertThat(CountingAnnotatorFactory.annotated(counter)).isEqualTo(12);
        List<TableRow> rows = new ArrayList<>();
        TableSchema out;
        try (TableReader reader = Tables.open(output)) {
            out = reader.schema();
            for (TableRow row; (row = reader.read()) != null; ) {
                rows.add(row);
            }
        }
        assertThat(out.names()).containsExactly("id", "path", "width", "weight", "caption", "answer_color",
                "answer_1", "kind", "kind_scores", "error");
        assertThat(out.columns().subList(0, 4)).extracting(Column::type)
                .containsExactly(ColumnType.LONG, ColumnType.STRING, ColumnType.INT, ColumnType.DOUBLE);
        assertThat(rows).extracting(r -> r.get(0)).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
        TableRow first = rows.get(0);
        assertThat(first.get(2)).isEqualTo(16);
        assertThat((String) first.get(4)).startsWith("echo: ");
        assertThat((String) first.get(5)).contains("What color is it?");
        assertThat((String) first.get(6)).contains("Is it big?");
        assertThat(first.get(7)).isEqualTo("cat");   // the echo model scores candidates 0, -1, -2 in order
        assertThat(first.get(8)).isEqualTo("{\"cat\":0.0,\"dog\":-1.0,\"bird\":-2.0}");
        assertThat(first.get(9)).isNull();
        assertThat(rows.get(5).get(4)).isEqualTo(first.get(4));
        assertThat(rows.get(2).get(9)).isNull();
        assertThat((String) rows.get(1).get(9)).startsWith("IMAGE_NOT_FOUND: ");
        assertThat(rows.get(1).get(4)).isNull();
        assertThat((String) rows.get(3).get(9)).isEqualTo("INVALID_REQUEST: no image reference (the cell is empty)");
        assertThat((String) rows.get(4).get(9)).matches("IMAGE_(CORRUPT|UNSUPPORTED_FORMAT): .*");
        assertThat(rows.get(4)).extracting(r -> r.get(1), r -> r.get(2)).containsExactly("images/corrupt.png", 8);
        assertThat((String) rows.get(6).get(4)).startsWith("echo: ");   // fetched over http (an allowed host)
        assertThat(rows.get(6).get(9)).isNull();
        // the table's folder is an allowed root, other folders are not unless allowed
        assertThat((String) rows.get(7).get(9)).startsWith("PATH_NOT_ALLOWED: ");
    }

    @ParameterizedTest
    @EnumSource(Scheduling.class)
    void anInterruptedRunResumesAndAnnotatesEachImageOnce(Scheduling scheduling) throws Exception {
        int n = 16;
        List<TableRow> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            TestImages.png(dir.resolve("img/" + i + ".png"), i);
            rows.add(TableRow.of("img/" + i + ".png", (long) i));
        }
        Path input = dir.resolve("in.jsonl");
        write(input, TableSchema.of(Column.string("image"), Column.of("n", ColumnType.LONG)), rows);
        Path output = dir.resolve("out.csv");
        Configuration config = config(input, output, "image");
        config.set(EnrichOptions.QUESTIONS, List.of("What is it?"));
        config.set(JobOptions.RESTART_ATTEMPTS, 0);
        config.set(LoupeOptions.BATCH_SCHEDULING, scheduling);
        Path arm = dir.resolve("interrupt-now");
        String counter = counter();
        int requests = 2 * n;

        Path journal = InterruptedEnrichRun.interruptThenResume(config, output, arm, requests, counter, this::run,
                this::printed);
        assertThat(Journal.committedParts(journal)).hasSize(1);   // compacted once the output is written
        List<TableRow> out = readAll(output);
        assertThat(out).hasSize(n);
        for (int i = 0; i < n; i++) {
            assertThat(out.get(i).get(0)).isEqualTo("img/" + i + ".png");
            assertThat(out.get(i).get(1)).isEqualTo(String.valueOf(i));
            assertThat((String) out.get(i).get(2)).startsWith("echo: ");
            assertThat((String) out.get(i).get(3)).contains("What is it?");
            assertThat(out.get(i).get(4)).isNull();
        }

        // run 3: nothing left; a changed question recomputes that column only
        long before = CountingAnnotatorFactory.annotated(counter);
        assertThat(run(config, new CountingAnnotatorFactory(counter, 0, null)).requests()).isZero();
        config.set(EnrichOptions.QUESTIONS, List.of("What colour is it?"));
        EnrichJob.Report changed = run(config, new CountingAnnotatorFactory(counter, 0, null));
        assertThat(changed.requests()).isEqualTo(n);
        assertThat(CountingAnnotatorFactory.annotated(counter) - before).isEqualTo(n);
        assertThat((String) readAll(output).get(0).get(3)).contains("What colour is it?");
    }

    @Test
    void badOptionsAreRefusedBeforeAnythingRuns() throws Exception {
        Path input = dir.resolve("in.csv");
        Files.writeString(input, "image,caption\na.png,x\n");
        Configuration config = config(input, dir.resolve("out.csv"), "picture");
        assertThatThrownBy(() -> run(config, new CountingAnnotatorFactory(counter(), 0, null)))
                .hasMessageContaining("no column 'picture'").hasMessageContaining("image, caption");
        config.set(EnrichOptions.IMAGE_COLUMN, "image");
        assertThatThrownBy(() -> run(config, new CountingAnnotatorFactory(counter(), 0, null)))
                .hasMessageContaining("already has a column caption");
        assertThat(dir.resolve("out.csv.loupe-journal")).doesNotExist();
        config.set(EnrichOptions.QUESTIONS, List.of("2bad=what?"));
        config.set(EnrichOptions.CAPTION, false);
        assertThat(EnrichSettings.from(config).columns()).extracting(AddedColumn::name).containsExactly("answer_1");
        config.set(EnrichOptions.QUESTIONS, List.of());
        assertThatThrownBy(() -> EnrichSettings.from(config)).hasMessageContaining("nothing to add");
    }

    private Configuration config(Path input, Path output, String imageColumn) throws IOException {
        Configuration config = EnrichConfigs.userOptions(dir, input, output);
        config.set(EnrichOptions.IMAGE_COLUMN, imageColumn);
        config.set(JobOptions.RESTART_DELAY, Duration.ofMillis(100));
        return config;
    }

    private EnrichJob.Report run(Configuration config, AnnotatorFactory factory) throws Exception {
        PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);
        return EnrichJob.run(config, factory, new BoundedJobRunner(out, false, Duration.ofSeconds(5), "annotations"),
                out);
    }

    private String printed() {
        return printed.toString(StandardCharsets.UTF_8);
    }

    private static String counter() {
        return "enrich-" + UUID.randomUUID();
    }


    private static void write(Path file, TableSchema schema, List<TableRow> rows) throws IOException {
        try (TableWriter writer = Tables.create(file, schema)) {
            for (TableRow row : rows) {
                writer.write(row);
            }
        }
    }

    private static List<TableRow> readAll(Path file) throws IOException {
        List<TableRow> rows = new ArrayList<>();
        try (TableReader reader = Tables.open(file)) {
            for (TableRow row; (row = reader.read()) != null; ) {
                rows.add(row);
            }
        }
        return rows;
    }
}
