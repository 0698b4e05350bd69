// The app lock's policy: when the screens lock, which way the person may unlock, and
// what happens when the phone's biometrics change. Plain Kotlin; the Android side
// (BiometricPrompt, Keystore keys that need the person to authenticate) and the iOS side
// (Keychain item with SecAccessControl, LAContext) carry out what this decides.
//
// What is guarded: the store key. With the lock on, the key that opens the phone's
// encrypted store is kept wrapped twice, by a biometric key (invalidated when a finger
// or face is added) and by a device-credential key (the lock-screen PIN, pattern or
// password). After the process starts, the store cannot be opened until the person
// authenticates. While the process lives the store stays open (so background sync keeps
// pulling notices) and the lock covers the screens after `lockAfterMs` in the background.
package app.patrol.logic

/** Ways the platform can authenticate the person. */
enum class Authenticator { BIOMETRIC, DEVICE_CREDENTIAL }

/** What the phone offers right now. */
data class DeviceAuth(
    /** A strong biometric (fingerprint, face with secure hardware) is enrolled and usable. */
    val biometricEnrolled: Boolean,
    /** A lock-screen PIN, pattern or password is set. Without it no key can require authentication. */
    val deviceSecure: Boolean,
)

enum class LockReason { COLD_START, AWAY_TOO_LONG, BIOMETRICS_CHANGED, BIOMETRIC_LOCKED_OUT }

/** What the screen shows. */
sealed interface LockScreen {
    /** The app's own screens. */
    data object Open : LockScreen

    /** The lock screen with a prompt allowing [allowed]; [rewrapAfter]: wrap the store key anew once through. */
    data class Ask(val allowed: Set<Authenticator>, val reason: LockReason, val rewrapAfter: Boolean) : LockScreen {
        fun text(lang: Lang): String = AppLock.explain(reason, lang)
    }

    /**
     * The lock screen cannot be passed: the phone's lock-screen credential was removed,
     * and Android deletes the keys that needed it, so the store key is gone. The person
     * signs in again; records not yet synced cannot be read.
     */
    data object KeyLost : LockScreen
}

/** Why a biometric prompt ended without success, as the platform reports it. */
enum class BiometricFailure {
    CANCELLED,
    /** The person tapped "use screen lock" on the biometric prompt. */
    CHOSE_SCREEN_LOCK,
    LOCKOUT,
    LOCKOUT_PERMANENT,
    KEY_INVALIDATED,
    NO_BIOMETRICS,
}

class AppLock(
    /** Off by default: turned on in settings, and only on a phone with a lock-screen credential. */
    enabled: Boolean,
    /** Time in the background after which the screens lock; 0 locks at once. */
    val lockAfterMs: Long = DEFAULT_LOCK_AFTER_MS,
) {
    var enabled: Boolean = enabled
        private set

    private var unlocked = false
    private var backgroundSinceMs: Long? = null
    private var lastForegroundMs: Long? = null
    private var biometricsChanged = false
    private var biometricLockedOut = false
    private var screenLockChosen = false
    private var reason = LockReason.COLD_START

    init {
        require(lockAfterMs >= 0)
    }

    /**
     * Turning the lock on needs a lock-screen credential (the fallback, and what the
     * Keystore and Keychain need to bind a key to the person). Returns whether it is on.
     */
    fun enable(auth: DeviceAuth): Boolean {
        if (!auth.deviceSecure) return false
        enabled = true
        unlocked = true // the person is in front of the app, just authenticated to turn it on
        return true
    }

    fun disable() {
        enabled = false
        unlocked = true
    }

    fun wentToBackground(nowMs: Long) {
        backgroundSinceMs = nowMs
    }

    /**
     * The screen to show on coming to the front (or at start). A clock that went back
     * while away counts as too long away: a changed clock must not keep the app open.
     */
    fun cameToForeground(nowMs: Long, auth: DeviceAuth): LockScreen {
        val since = backgroundSinceMs
        backgroundSinceMs = null
        lastForegroundMs = nowMs
        if (!enabled) return LockScreen.Open
        if (unlocked && since != null && (nowMs < since || nowMs - since >= lockAfterMs)) {
            unlocked = false
            reason = LockReason.AWAY_TOO_LONG
        }
        return screen(auth)
    }

    /** The screen for the current state (also after a failed prompt). */
    fun screen(auth: DeviceAuth): LockScreen {
        if (!enabled || unlocked) return LockScreen.Open
        if (!auth.deviceSecure) return LockScreen.KeyLost
        val why = when {
            biometricsChanged -> LockReason.BIOMETRICS_CHANGED
            biometricLockedOut -> LockReason.BIOMETRIC_LOCKED_OUT
            else -> reason
        }
        // Biometrics only while they are the ones the key was made with; the device
        // credential always, so nobody is locked out of their own records.
        val allowed = if (auth.biometricEnrolled && !biometricsChanged && !biometricLockedOut && !screenLockChosen) {
            setOf(Authenticator.BIOMETRIC, Authenticator.DEVICE_CREDENTIAL)
        } else {
            setOf(Authenticator.DEVICE_CREDENTIAL)
        }
        return LockScreen.Ask(allowed, why, rewrapAfter = biometricsChanged)
    }

    /** A prompt failed: what the platform said decides the next prompt. */
    fun failed(failure: BiometricFailure, auth: DeviceAuth): LockScreen {
        when (failure) {
            BiometricFailure.KEY_INVALIDATED -> biometricsChanged = true
            BiometricFailure.LOCKOUT, BiometricFailure.LOCKOUT_PERMANENT -> biometricLockedOut = true
            BiometricFailure.CHOSE_SCREEN_LOCK -> screenLockChosen = true
            BiometricFailure.NO_BIOMETRICS, BiometricFailure.CANCELLED -> Unit
        }
        return screen(auth)
    }

    /**
     * The person authenticated and the store key was unwrapped. After a biometric change
     * the platform code has made a new biometric key and wrapped the store key under it
     * ([rewrapped]); until it has, the next lock asks for the device credential again.
     */
    fun unlocked(via: Authenticator, rewrapped: Boolean = false) {
        check(via == Authenticator.DEVICE_CREDENTIAL || !biometricsChanged) { "a changed biometric cannot unlock" }
        unlocked = true
        screenLockChosen = false // a choice for one unlock, not for good
        if (rewrapped) biometricsChanged = false
        if (via == Authenticator.BIOMETRIC || via == Authenticator.DEVICE_CREDENTIAL) biometricLockedOut = false
        reason = LockReason.AWAY_TOO_LONG
    }

    val isUnlocked: Boolean get() = !enabled || unlocked

    companion object {
        const val DEFAULT_LOCK_AFTER_MS = 5 * 60_000L

        fun explain(reason: LockReason, lang: Lang): String = when (reason) {
            LockReason.COLD_START, LockReason.AWAY_TOO_LONG ->
                if (lang == Lang.EN) "Unlock Patrol with your fingerprint, face or screen lock." else "请用指纹、面容或锁屏密码解锁巡检。"
            LockReason.BIOMETRICS_CHANGED ->
                if (lang == Lang.EN) "The phone's fingerprints or face changed. Unlock with the screen lock once; biometrics work again after that."
                else "手机的指纹或面容已变更，请用锁屏密码解锁一次，之后可再用生物识别。"
            LockReason.BIOMETRIC_LOCKED_OUT ->
                if (lang == Lang.EN) "Too many failed attempts. Unlock with the screen lock." else "尝试次数过多，请用锁屏密码解锁。"
        }

        fun keyLostText(lang: Lang): String =
            if (lang == Lang.EN) "The phone's screen lock was removed, and with it the key to Patrol's records on this phone. Sign in again; records not yet synced cannot be recovered."
            else "手机的锁屏密码已被移除，本机巡检记录的密钥随之失效。请重新登录；尚未同步的记录无法恢复。"
    }
}
