// Sign in and out. Signing in asks the server (the core keeps the tokens), then runs a
// first sync so the plan and the pickers have the site's reference data.
package app.patrol.logic

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import uniffi.patrol_core.SignedInPerson
import uniffi.patrol_protocol.Role

class SessionModel(private val repo: PatrolRepository, scope: CoroutineScope) : ScreenModel(scope) {
    private val _person = MutableStateFlow<SignedInPerson?>(null)
    val person: StateFlow<SignedInPerson?> = _person.asStateFlow()

    /** Picks up a person signed in before the app was last closed. */
    fun restore() = act { _person.value = repo.person() }

    fun signIn(serverUrl: String, login: String, password: String) = act {
        val who = repo.login(serverUrl, login, password)
        // Reference data comes with the first pull; a network failure here still leaves
        // the person signed in, and the background sync brings it later.
        runCatching { repo.sync(null, null) }
        _person.value = who
    }

    fun signOut() = act {
        repo.logout()
        _person.value = null
    }
}

/** What a person may see in the app's navigation, from their roles. */
data class Capabilities(val patrols: Boolean, val inbox: Boolean, val supervise: Boolean)

fun SignedInPerson.capabilities(): Capabilities {
    val patrol = roles.any { it is Role.PatrolStaff }
    val head = roles.any { it is Role.DepartmentHead }
    val sup = roles.any { it is Role.SiteSupervisor || it is Role.OrgSupervisor }
    // Everyone who can raise notices also verifies them, so the inbox is for all.
    return Capabilities(patrols = patrol || sup, inbox = true, supervise = sup || head)
}
