package dev.loupe.cli;

import dev.loupe.config.CommonFlags;
import dev.loupe.config.JobArguments;
import dev.loupe.config.ModelOptions;
import dev.loupe.config.OptionCatalogue;
import dev.loupe.model.api.RuntimeOptions;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * A command that loads a model in its own process ({@code loupe annotate}, {@code loupe bench},
 * {@code loupe bench soak}): it takes the runtime flags {@code --device}, {@code --threads} and {@code --runner},
 * views of {@code loupe.runtime.device}, {@code loupe.runtime.threads} and {@code loupe.runtime.runner}
 * ({@link ModelOptions}) exactly as the jobs take them.
 */
interface RuntimeCommand {

    /** The runtime flags, each a view of its {@link ModelOptions} option. */
    JobArguments RUNTIME_FLAGS = new JobArguments(
            OptionCatalogue.of().withOptions(ModelOptions.class, ModelOptions.DEVICE, ModelOptions.THREADS,
                    ModelOptions.RUNNER),
            List.of(CommonFlags.DEVICE, CommonFlags.THREADS, CommonFlags.RUNNER));

    /** The command's picocli spec (injected with {@code @Spec}). */
    CommandSpec spec();

    /**
     * The runtime options the flags give, the environment's defaults elsewhere ({@link ModelOptions#runtimeOptions}).
     *
     * @throws CommandLine.ParameterException naming the flag's option when a value is refused
     */
    default RuntimeOptions runtimeOptions() {
        try {
            return ModelOptions.runtimeOptions(RUNTIME_FLAGS.flagConfiguration(spec().commandLine().getParseResult()));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec().commandLine(), e.getMessage(), e);
        }
    }

    /** Adds the runtime flags to every such (sub)command under {@code root}. */
    static void install(CommandLine root) {
        if (root.getCommand() instanceof RuntimeCommand) {
            RUNTIME_FLAGS.addFlagsTo(root.getCommandSpec());
        }
        root.getSubcommands().values().forEach(RuntimeCommand::install);
    }
}
