/**
 * Model runtimes for the jobs: resolving a model directory to an annotator factory through the registered
 * {@link dev.loupe.jobs.ModelRuntimeProvider}s, the model options, and the tiny demo model. The jobs themselves are
 * in the subpackages: {@code streaming}, {@code caption}, {@code enrich} (with {@code bounded} and {@code table}),
 * {@code soak}, {@code demo}.
 */
package dev.loupe.jobs;
