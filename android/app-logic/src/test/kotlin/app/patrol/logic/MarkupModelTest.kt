// The markup editor against the real core: gestures in view pixels become marks in the
// photo's 0–10 000 coordinates (letterboxing and clamping included), the layer is
// recorded as a photo_marked record beside the unchanged photo, reloads as it was
// saved, and every bound the Kotlin side assumes is the core's own.
package app.patrol.logic

import java.io.File
import java.security.MessageDigest
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import uniffi.patrol_core.PatrolCore
import uniffi.patrol_core.PatrolException
import uniffi.patrol_core.PhotoInput
import uniffi.patrol_core.PhotoSource
import uniffi.patrol_core.SignedInPerson
import uniffi.patrol_protocol.Mark
import uniffi.patrol_protocol.PhotoContext
import uniffi.patrol_protocol.RecordPayload

class MarkupModelTest {
    private val person = SignedInPerson("01900000-0000-7000-8000-000000000def", "巡检员李娜", emptyList(), false)

    private fun phoneWithPhoto(): Triple<PatrolCore, String, File> {
        val phone = Fixtures.phone("markup")
        phone.signInLocally(person)
        val photo = phone.addPhoto(
            PhotoInput(PhotoSource.Bytes(Fixtures.cameraJpeg(7)), PhotoContext(null, null, null), null, null, null, null),
        )
        return Triple(phone, photo.sha256, File(photo.path))
    }

    private fun sha256(bytes: ByteArray) =
        MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

    @Test
    fun `a photo fitted into its view maps taps to its own coordinates`() {
        // A 4:3 photo in a 1080×1920 portrait view: full width, bars above and below.
        val frame = PhotoFrame.fit(1024, 768, 1080f, 1920f)
        assertEquals(0f, frame.left)
        assertEquals(1080f, frame.width)
        assertEquals(810f, frame.height)
        assertEquals(555f, frame.top)
        assertEquals(0 to 0, frame.toMark(0f, 555f))
        assertEquals(10_000 to 10_000, frame.toMark(1080f, 555f + 810f))
        assertEquals(5_000 to 5_000, frame.toMark(540f, 555f + 405f))
        // Just past the edge is the edge; deep in the bars is no point at all.
        assertEquals(10_000 to 0, frame.toMark(1090f, 545f))
        assertNull(frame.toMark(540f, 100f))
        // And back: the layer is drawn where it was put.
        assertEquals(540f to 555f + 405f, frame.toView(5_000, 5_000))
        assertEquals(108f, frame.radiusToView(1_000))
    }

    @Test
    fun `gestures make marks and the saved layer is a record beside the unchanged photo`() {
        val (phone, sha, file) = phoneWithPhoto()
        val original = file.readBytes()
        val frame = PhotoFrame.fit(1024, 768, 1024f, 768f)
        val model = MarkupModel.load(phone, sha, frame)
        assertTrue(model.marks.isEmpty())

        model.tool = MarkTool.ARROW
        assertIs<MarkupOutcome.Added>(model.drag(102.4f, 76.8f, 512f, 384f))
        assertIs<MarkupOutcome.Ignored>(model.drag(300f, 300f, 305f, 303f), "a tap is not an arrow")
        model.tool = MarkTool.CIRCLE
        assertIs<MarkupOutcome.Added>(model.drag(512f, 384f, 614.4f, 384f))
        model.tool = MarkTool.TEXT
        assertIs<MarkupOutcome.Added>(model.text(51.2f, 700f, "  此处\n渗水  "))
        val expected = listOf(
            Mark.Arrow(1000u, 1000u, 5000u, 5000u),
            Mark.Circle(5000u, 5000u, 1000u),
            Mark.Text(500u, 9115u, "此处 渗水"),
        )
        assertEquals(expected, model.marks)
        assertTrue(model.dirty)

        val saved = assertIs<MarkupOutcome.Saved>(model.save())
        assertTrue(!model.dirty)
        val record = phone.recordsAfter(0u, 100u).single { it.id == saved.recordId }
        assertEquals(RecordPayload.PhotoMarked(sha, expected), record.payload)
        assertContentEquals(original, file.readBytes(), "the photo's bytes are untouched")
        assertEquals(sha, sha256(file.readBytes()))

        // Reopened, the editor starts from the saved layer; undo and an empty save clear it.
        val again = MarkupModel.load(phone, sha, frame)
        assertEquals(expected, again.marks)
        repeat(3) { assertTrue(again.undo()) }
        assertTrue(!again.undo())
        assertIs<MarkupOutcome.Saved>(again.save())
        assertTrue(phone.photoMarks(sha).isEmpty())
        assertEquals(2, phone.recordsAfter(0u, 100u).count { it.payload is RecordPayload.PhotoMarked })
        phone.destroy()
    }

    @Test
    fun `the bounds the editor keeps are the core's own`() {
        val (phone, sha, _) = phoneWithPhoto()
        val scale = MarkLimits.SCALE.toUShort()
        val past = (MarkLimits.SCALE + 1).toUShort()
        // At the bounds the core accepts; one past, it refuses the marks and records nothing.
        phone.markPhoto(sha, listOf(Mark.Circle(scale, scale, scale), Mark.Text(0u, 0u, "字".repeat(MarkLimits.TEXT_MAX))))
        phone.markPhoto(sha, List(MarkLimits.MARKS_MAX) { Mark.Circle(1u, 1u, 1u) })
        val before = phone.recordsAfter(0u, 100u).size
        val refused = listOf(
            listOf(Mark.Circle(past, 1u, 1u)),
            listOf(Mark.Arrow(0u, 0u, 0u, past)),
            listOf(Mark.Text(1u, 1u, "字".repeat(MarkLimits.TEXT_MAX + 1))),
            List(MarkLimits.MARKS_MAX + 1) { Mark.Circle(1u, 1u, 1u) },
        )
        for (marks in refused) {
            val e = assertFailsWith<PatrolException.InvalidInput> { phone.markPhoto(sha, marks) }
            assertEquals("marks", e.field)
            assertEquals("marks", e.toUiError().field)
        }
        assertEquals(before, phone.recordsAfter(0u, 100u).size)
        assertFailsWith<PatrolException.NotFound> { phone.markPhoto("ab".repeat(32), listOf(Mark.Circle(1u, 1u, 1u))) }

        // The editor stops at the same bounds before the core is asked.
        val model = MarkupModel.load(phone, sha, PhotoFrame.fit(1024, 768, 1024f, 768f))
        model.clear()
        model.tool = MarkTool.CIRCLE
        repeat(MarkLimits.MARKS_MAX) { assertIs<MarkupOutcome.Added>(model.drag(100f, 100f, 150f, 100f)) }
        val tooMany = assertIs<MarkupOutcome.Refused>(model.drag(100f, 100f, 150f, 100f))
        assertTrue(tooMany.error.zh.contains("${MarkLimits.MARKS_MAX}"))
        model.clear()
        val long = assertIs<MarkupOutcome.Refused>(model.text(10f, 10f, "字".repeat(MarkLimits.TEXT_MAX + 1)))
        assertEquals("marks", long.error.field)
        assertIs<MarkupOutcome.Saved>(model.save())
        phone.destroy()
    }
}
