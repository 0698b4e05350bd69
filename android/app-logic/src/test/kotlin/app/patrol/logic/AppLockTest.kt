// The app lock's policy over generated background/foreground timelines, and the
// biometric-change, lockout and removed-screen-lock paths.
package app.patrol.logic

import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test

class AppLockTest {
    private val both = DeviceAuth(biometricEnrolled = true, deviceSecure = true)
    private val pinOnly = DeviceAuth(biometricEnrolled = false, deviceSecure = true)
    private val insecure = DeviceAuth(biometricEnrolled = false, deviceSecure = false)
    private val min = 60_000L

    @Test
    fun `locked at start, open after unlocking, and off means always open`() {
        val lock = AppLock(enabled = true, lockAfterMs = 5 * min)
        val first = assertIs<LockScreen.Ask>(lock.cameToForeground(0, both))
        assertEquals(LockReason.COLD_START, first.reason)
        assertEquals(setOf(Authenticator.BIOMETRIC, Authenticator.DEVICE_CREDENTIAL), first.allowed)
        assertEquals("请用指纹、面容或锁屏密码解锁巡检。", first.text(Lang.ZH))
        lock.unlocked(Authenticator.BIOMETRIC)
        assertEquals(LockScreen.Open, lock.screen(both))
        val off = AppLock(enabled = false)
        assertEquals(LockScreen.Open, off.cameToForeground(0, insecure))
    }

    @Test
    fun `locks exactly when the time away reaches the limit, over generated timelines`() {
        val rng = Random(3)
        repeat(20) { round ->
            val limit = rng.nextLong(0, 30) * min
            val lock = AppLock(enabled = true, lockAfterMs = limit)
            var now = rng.nextLong(0, 1_000_000_000)
            lock.cameToForeground(now, both)
            lock.unlocked(Authenticator.BIOMETRIC)
            repeat(200) {
                now += rng.nextLong(0, 10 * min)
                lock.wentToBackground(now)
                val away = when (rng.nextInt(4)) {
                    0 -> limit - 1
                    1 -> limit
                    else -> rng.nextLong(0, 2 * limit + 2)
                }.coerceAtLeast(0)
                now += away
                val screen = lock.cameToForeground(now, both)
                if (away >= limit) {
                    val ask = assertIs<LockScreen.Ask>(screen, "round $round: away $away of $limit")
                    assertEquals(LockReason.AWAY_TOO_LONG, ask.reason)
                    lock.unlocked(Authenticator.DEVICE_CREDENTIAL)
                } else {
                    assertEquals(LockScreen.Open, screen, "round $round: away $away of $limit")
                }
            }
        }
    }

    @Test
    fun `a clock set back while away locks`() {
        val lock = AppLock(enabled = true, lockAfterMs = 5 * min)
        lock.cameToForeground(10 * min, both)
        lock.unlocked(Authenticator.BIOMETRIC)
        lock.wentToBackground(10 * min)
        assertIs<LockScreen.Ask>(lock.cameToForeground(9 * min, both))
    }

    @Test
    fun `changed biometrics ask for the screen lock once, store key wrapped anew, then biometrics again`() {
        val lock = AppLock(enabled = true)
        lock.cameToForeground(0, both)
        val after = assertIs<LockScreen.Ask>(lock.failed(BiometricFailure.KEY_INVALIDATED, both))
        assertEquals(setOf(Authenticator.DEVICE_CREDENTIAL), after.allowed)
        assertEquals(LockReason.BIOMETRICS_CHANGED, after.reason)
        assertTrue(after.rewrapAfter)
        assertTrue(after.text(Lang.ZH).startsWith("手机的指纹或面容已变更"))
        assertFailsWith<IllegalStateException> { lock.unlocked(Authenticator.BIOMETRIC) }
        // Unlocked by PIN, but the re-wrap failed: the next lock still asks for the PIN.
        lock.unlocked(Authenticator.DEVICE_CREDENTIAL, rewrapped = false)
        lock.wentToBackground(0)
        val again = assertIs<LockScreen.Ask>(lock.cameToForeground(AppLock.DEFAULT_LOCK_AFTER_MS, both))
        assertEquals(setOf(Authenticator.DEVICE_CREDENTIAL), again.allowed)
        lock.unlocked(Authenticator.DEVICE_CREDENTIAL, rewrapped = true)
        lock.wentToBackground(0)
        val back = assertIs<LockScreen.Ask>(lock.cameToForeground(AppLock.DEFAULT_LOCK_AFTER_MS, both))
        assertEquals(setOf(Authenticator.BIOMETRIC, Authenticator.DEVICE_CREDENTIAL), back.allowed)
        assertFalse(back.rewrapAfter)
    }

    @Test
    fun `lockout and no enrolled biometrics fall back to the screen lock, a cancel changes nothing`() {
        val lock = AppLock(enabled = true)
        lock.cameToForeground(0, both)
        val cancelled = assertIs<LockScreen.Ask>(lock.failed(BiometricFailure.CANCELLED, both))
        assertEquals(2, cancelled.allowed.size)
        val out = assertIs<LockScreen.Ask>(lock.failed(BiometricFailure.LOCKOUT, both))
        assertEquals(setOf(Authenticator.DEVICE_CREDENTIAL) to LockReason.BIOMETRIC_LOCKED_OUT, out.allowed to out.reason)
        assertEquals(setOf(Authenticator.DEVICE_CREDENTIAL), assertIs<LockScreen.Ask>(lock.screen(pinOnly)).allowed)
        lock.unlocked(Authenticator.DEVICE_CREDENTIAL)
        lock.wentToBackground(0)
        assertEquals(2, assertIs<LockScreen.Ask>(lock.cameToForeground(AppLock.DEFAULT_LOCK_AFTER_MS, both)).allowed.size)
    }

    @Test
    fun `choosing the screen lock on the prompt asks for it this time only`() {
        val lock = AppLock(enabled = true)
        lock.cameToForeground(0, both)
        val chosen = assertIs<LockScreen.Ask>(lock.failed(BiometricFailure.CHOSE_SCREEN_LOCK, both))
        assertEquals(setOf(Authenticator.DEVICE_CREDENTIAL), chosen.allowed)
        assertEquals(LockReason.COLD_START, chosen.reason)
        lock.unlocked(Authenticator.DEVICE_CREDENTIAL)
        lock.wentToBackground(0)
        assertEquals(2, assertIs<LockScreen.Ask>(lock.cameToForeground(AppLock.DEFAULT_LOCK_AFTER_MS, both)).allowed.size)
    }

    @Test
    fun `without a screen lock the lock cannot be turned on, and a removed one means the key is lost`() {
        val lock = AppLock(enabled = false)
        assertFalse(lock.enable(insecure))
        assertFalse(lock.enabled)
        assertTrue(lock.enable(pinOnly))
        assertEquals(LockScreen.Open, lock.screen(pinOnly), "just authenticated to turn it on")
        lock.wentToBackground(0)
        assertEquals(LockScreen.KeyLost, lock.cameToForeground(AppLock.DEFAULT_LOCK_AFTER_MS, insecure))
        assertTrue(AppLock.keyLostText(Lang.ZH).contains("尚未同步的记录无法恢复"))
    }
}
