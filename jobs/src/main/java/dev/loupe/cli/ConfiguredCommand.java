package dev.loupe.cli;

import dev.loupe.config.JobArguments;
import dev.loupe.config.OptionCatalogue;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine;

/**
 * A command configured through typed options, the command-line view of a job: its {@link #arguments()}
 * ({@code --config}, {@code -D} and flags, each flag a view of one option) are added to the command by
 * {@link #install}, and {@code --help} lists every option of its {@link #catalogue()} (see {@link ConfigurationHelp}).
 */
public interface ConfiguredCommand {

    /** The job's arguments: its option catalogue and the flags that set them. */
    JobArguments arguments();

    /** The command's picocli spec (injected with {@code @Spec}). */
    CommandLine.Model.CommandSpec spec();

    /** The options: defaults, {@code --config}, {@code -D}, then the flags given (which win). */
    default Configuration toConfiguration() {
        return toConfiguration(Map.of());
    }

    /**
     * As {@link #toConfiguration()} over a {@code base} layer that every other source overrides: a cluster's
     * configuration (its config.yaml and {@code flink run -D} settings) when the job is submitted there.
     */
    default Configuration toConfiguration(Map<String, String> base) {
        return arguments().configuration(spec().commandLine().getParseResult(), base);
    }

    /** Every option the command reads. */
    default OptionCatalogue catalogue() {
        return arguments().catalogue();
    }

    /** Adds the arguments and the help section to every configured (sub)command under {@code root}. */
    static void install(CommandLine root) {
        if (root.getCommand() instanceof ConfiguredCommand configured) {
            configured.arguments().addTo(root.getCommandSpec());
            ConfigurationHelp.addSection(root, configured.catalogue());
        }
        root.getSubcommands().values().forEach(ConfiguredCommand::install);
    }

    /** Parses {@code args} into {@code command} without running it; the command's own flags are in its fields. */
    static <C extends ConfiguredCommand> C parse(C command, String... args) {
        CommandLine cli = new CommandLine(command);
        install(cli);
        cli.parseArgs(args);
        return command;
    }
}
