package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.config.Flag;
import dev.loupe.config.JobOptions;
import dev.loupe.config.ModelOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.jobs.streaming.StreamingArguments;
import dev.loupe.model.api.RuntimeOptions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** Command-line flags cannot drift from the options they set: a setting's flag exists only as a view of its option. */
class FlagsAreOptionViewsTest {

    /** The flags of the configured commands that set no option (everything else comes from the job's arguments). */
    private static final Map<String, Set<String>> NOT_SETTINGS = Map.of(
            "run", Set.of("--demo-images"), "caption", Set.of(), "enrich", Set.of());

    @Test
    void everyFlagOfAJobCommandIsAViewOfAnOptionOfItsJob() {
        CommandLine loupe = Loupe.commandLine();
        List<String> configured = new ArrayList<>();
        loupe.getSubcommands().forEach((name, sub) -> {
            if (!(sub.getCommand() instanceof ConfiguredCommand command)) {
                return;
            }
            configured.add(name);
            Set<String> views = new HashSet<>(List.of("--config", "-D", "--conf"));
            command.arguments().flags().forEach(flag -> views.addAll(flag.names()));
            for (OptionSpec option : sub.getCommandSpec().options()) {
                if (option.usageHelp() || option.versionHelp()) {
                    continue;
                }
                for (String flag : option.names()) {
                    assertThat(views.contains(flag) || NOT_SETTINGS.get(name).contains(flag))
                            .as("loupe %s %s is a view of an option of its job", name, flag).isTrue();
                }
            }
            for (Flag flag : command.arguments().flags()) {
                assertThat(command.catalogue().find(flag.option().key())).as(flag.name()).isPresent();
            }
        });
        assertThat(configured).containsExactlyInAnyOrderElementsOf(NOT_SETTINGS.keySet());
    }

    @Test
    void theBenchmarksRunTheJobsSchedulingByDefault() {
        CommandLine bench = Loupe.commandLine().getSubcommands().get("bench");
        String jobs = LoupeOptions.BATCH_SCHEDULING.defaultValue().name().toLowerCase(java.util.Locale.ROOT);
        assertThat(jobs).isEqualTo("continuous");
        assertThat(bench.getCommandSpec().findOption("--scheduling").defaultValue()).isEqualTo(jobs);
        assertThat(bench.getSubcommands().get("soak").getCommandSpec().findOption("--scheduling").defaultValue())
                .isEqualTo(jobs);
    }

    @Test
    void sendAndTailTakeTheStreamingJobsKafkaClientFlags() {
        Set<String> kafkaFlags = new HashSet<>();
        StreamingArguments.ARGUMENTS.flags().stream()
                .filter(flag -> flag.option().equals(JobOptions.KAFKA_PROPERTIES))
                .forEach(flag -> kafkaFlags.addAll(flag.names()));
        assertThat(kafkaFlags).containsExactlyInAnyOrder("--kafka-config", "--kafka-property");
        CommandLine loupe = Loupe.commandLine();
        for (String command : List.of("send", "tail")) {
            Set<String> names = new HashSet<>();
            loupe.getSubcommands().get(command).getCommandSpec().options().forEach(o -> names.addAll(List.of(o.names())));
            assertThat(names).as(command).containsAll(kafkaFlags);
        }
    }

    @Test
    void commandsThatLoadAModelTakeTheRuntimeFlagsAsViewsOfTheRuntimeOptions() {
        assertThat(RuntimeCommand.RUNTIME_FLAGS.flags()).extracting(Flag::option)
                .containsExactly(ModelOptions.DEVICE, ModelOptions.THREADS, ModelOptions.RUNNER);
        CommandLine loupe = Loupe.commandLine();
        for (CommandLine command : List.of(loupe.getSubcommands().get("annotate"), loupe.getSubcommands().get("bench"),
                loupe.getSubcommands().get("bench").getSubcommands().get("soak"))) {
            Set<String> names = new HashSet<>();
            command.getCommandSpec().options().forEach(o -> names.addAll(List.of(o.names())));
            assertThat(names).as(command.getCommandName()).contains("--device", "--threads", "--runner");
            assertThat((Object) command.getCommand()).as(command.getCommandName()).isInstanceOf(RuntimeCommand.class);
        }
    }

    @Test
    void aRefusedRuntimeFlagNamesItsOption() {
        assertThatThrownBy(() -> parsedBench("--threads", "-1").runtimeOptions())
                .hasMessageContaining("loupe.runtime.threads");
        assertThatThrownBy(() -> parsedBench("--device", "tpu").runtimeOptions())
                .hasMessageContaining("loupe.runtime.device");
        RuntimeOptions runtime = parsedBench("--threads", "3", "--device", "cuda:1").runtimeOptions();
        assertThat(runtime.intraOpThreads()).isEqualTo(3);
        assertThat(runtime.deviceIndex()).isEqualTo(1);
    }

    private static RuntimeCommand parsedBench(String... flags) {
        CommandLine loupe = Loupe.commandLine();
        List<String> args = new ArrayList<>(List.of("bench"));
        args.addAll(List.of(flags));
        loupe.parseArgs(args.toArray(String[]::new));
        return loupe.getSubcommands().get("bench").getCommand();
    }
}
