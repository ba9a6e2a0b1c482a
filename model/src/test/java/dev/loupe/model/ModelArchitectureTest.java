package dev.loupe.model;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The model runtime's structure: plain Java, and packages that depend on each other one way only. */
class ModelArchitectureTest {
    private static JavaClasses runtime;

    @BeforeAll
    static void importRuntime() {
        runtime = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.loupe.model");
    }

    @Test
    void packagesHaveNoCycles() {
        slices().matching("dev.loupe.(**)").should().beFreeOfCycles().check(runtime);
    }

    @Test
    void runtimeKnowsNothingOfStreamingOrAvro() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("org.apache.flink..", "org.apache.kafka..", "org.apache.avro..",
                        "dev.loupe.schemas..", "dev.loupe.flink..", "dev.loupe.jobs..", "dev.loupe.cli..")
                .check(runtime);
    }
}
