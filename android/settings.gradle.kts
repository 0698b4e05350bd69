// The Android app of Patrol: `app` (Compose screens, platform services) over
// `app-logic` (repository and screen models in plain Kotlin, with the generated
// bindings; also compiled and tested on the desktop JVM by scripts/kotlin-test).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "patrol-android"
include(":app", ":app-logic")
