"""``tilsyn demo``: a realistic supervision of an invented døgntilbud, in a fresh SQLite ledger.

Everything goes through the same API as the other commands: keys for a supervisor, a leader and the
provider's manager; an approved tilbud with its master data; an unannounced visit recorded as one batch
(observations from several sources); criterion 2.3 failing on marker 2.3.1; risk rød; then a lawful
course (issue 13): varsel with a høringsfrist → høringssvar from the tilbudsleder → påbud on that varsel,
weighing the answer, with hjemmel and the operator's klagevejledning → a two-priority follow-up plan
modelled on the example in seed 000, approved and later revised → a new visit and assessment showing 2.3
opfyldt → påbud efterkommet. A regional 1.3 check besides. Then it prints the status, the findings and
the verification.

The operator's legal settings live in the demo's own ``tilsyn.toml`` (klagevejledning, hjemmel list). They
invent no law: the klagevejledning names Ankestyrelsen (DOMAIN.md) and the hjemmel names the act seed 002
refers to, without a paragraph — a real operator replaces both with their own texts.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import click
from rich.text import Text

from tilsyn.ledger import KeyStore, Ledger, keys, verify_ledger
from tilsyn.ledger.checkpoints import create_checkpoint
from tilsyn.ledger.enrollment import make_request
from tilsyn.ledger.personal import create_kek_file, load_kek
from tilsyn.plugins.manager import default_plugins, read_settings
from tilsyn.standards import events as ev
from tilsyn.standards.service import Supervision

from .output import console

TILBUD = "T-1001"
PAABUD_SEQ = 25
"""Where the demo's påbud lands (README and the demo's hints replay ``--as-of`` it; a test checks it)."""
SETTINGS = """# Operator settings of the demo (tilsyn.toml). Replace the legal texts with your authority's own.
[settings]
"supervision.klagevejledning" = "Afgørelsen kan påklages til Ankestyrelsen."
"supervision.hjemler_fil" = {hjemler}
"""
HJEMLER = """# The demo operator's list of hjemler (shape: plugins/supervision/hjemler.yaml). No paragraph is given:
# the demo does not invent one. A real operator writes the exact hjemmel their decisions rest on.
hjemler:
  - hjemmel: "Lov om socialtilsyn (demo: operatøren angiver den præcise bestemmelse)"
    afgoerelser: ["påbud", "skærpet tilsyn", "skærpet tilsyn med påbud", "ophør af godkendelsen"]
"""
HJEMMEL = "Lov om socialtilsyn (demo: operatøren angiver den præcise bestemmelse)"
AUTHORITY = "Socialtilsyn Øst"
SUPERVISOR, LEADER, MANAGER = "Karen Holm", "Lone Dahl", "Mette Lund"

REASON_23 = (
    "Kriteriet er ikke opfyldt. Markør 2.3.1 (pædagogisk praksis forebygger magtanvendelser) er ikke til stede: "
    "to borgere fortæller samstemmende, at deres værelsesdøre og køkkenskabe låses om aftenen; medarbejderne kan "
    "ikke redegøre for, hvilke pædagogiske tilgange der anvendes for at undgå magtanvendelse; der er indberettet "
    "fire magtanvendelser på tre måneder uden opfølgning, og ved observation af de fysiske rammer var fællesarealets "
    "dør aflåst. Markør 2.3.2 (tilbuddet har relevant praksis for dokumentation, håndtering og læring af "
    "magtanvendelser) er til stede: ledelsen har en skriftlig procedure for indberetning. Vurderingen hviler på interview af borgere, medarbejdere "
    "og ledelse, dokumentanalyse af magtanvendelsesindberetninger og observation af de fysiske rammer."
)


INDHOLD = ("Tilbuddet skal ophøre med at låse borgernes værelsesdøre, køkkenskabe og fællesarealer, sikre borgernes "
           "frie adgang til egne ejendele og sikre, at reglerne for magtanvendelse og indberetning efterleves.")
BEGRUNDELSE = (
    "Kriterium 2.3 er ikke opfyldt, fordi markør 2.3.1 (pædagogisk praksis forebygger magtanvendelser) ikke er til "
    "stede: borgere, medarbejdere, fire indberetninger uden opfølgning og de aflåste fysiske rammer viser indgribende "
    "praksis (tilsynsbesøg B1). Markør 2.3.2 er til stede. Et tilbud skal opfylde alle kvalitetskriterier for at have "
    "den fornødne kvalitet (kvalitetsmodellen, seed 002); indgrebene i borgernes selvbestemmelse vejer tungest.")
REASON_23_OPFYLDT = (
    "Kriteriet er opfyldt. Markør 2.3.1 (tilbuddets pædagogiske praksis forebygger magtanvendelser) er til stede: borgerne bekræfter ved interview, at de selv låser deres skabe, "
    "medarbejderne kan ved interview redegøre for tilgange, der forebygger magtanvendelse, og ved observation var "
    "fællesarealet åbent. Markør 2.3.2 (tilbuddet har relevant praksis for dokumentation, håndtering og læring "
    "af magtanvendelser) er til stede: proceduren for indberetning kendes af ledelse og medarbejdere.")


def _at(day: str, time: str = "10:00") -> str:
    return f"{day}T{time}:00.000000Z"


def run_demo(directory: Path) -> None:
    db = directory / "tilsyn.db"
    keystore = KeyStore(directory)  # the key home: keys/<key id>.pem below it
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hjemler.yaml").write_text(HJEMLER, encoding="utf-8")
    settings_file = directory / "tilsyn.toml"
    settings_file.write_text(SETTINGS.format(hjemler=json.dumps(str((directory / "hjemler.yaml").resolve()))),
                             encoding="utf-8")
    plugins = default_plugins(read_settings(settings_file))
    kek_file = create_kek_file(directory)  # the demo's KEK for personal data (unless $TILSYN_KEK is set)
    kek = load_kek(directory)
    console.rule(Text.assemble(("tilsyn demo", "bold"), ": Bostedet Lærkehøj (døgntilbud)"))
    ledger, authority = Ledger.init(str(db), AUTHORITY, keystore, policy=plugins.policy(),
                                    origin="socialtilsyn-oest.example/tilsyn-ledger/demo", occurred_at=_at("2026-09-01", "08:00"),
                                    kek=kek)
    if kek_file:
        console.print(f"key-encryption key for personal data: {kek_file}")
    with ledger:
        for name, role in ((SUPERVISOR, "tilsynskonsulent"), (LEADER, "tilsynsleder")):
            # The one-step path (the key made in the admin's home): for the demo only, not for production.
            ledger.register_key(authority, name, [role], keystore, occurred_at=_at("2026-09-01", "08:05"))
            console.print(f"key for {name} ({role})")
        # The real flow for the tilbud's leader: her own key and enrollment request (in the demo her key
        # home is this directory too), registered by the admin.
        mette_key = keys.generate()
        request = make_request(mette_key, MANAGER, ledger.ledger_id, ledger.origin)
        keystore.save(mette_key)
        ledger.register_request(authority, request, ["tilbudsleder"], occurred_at=_at("2026-09-01", "08:05"))
        console.print(f"key for {MANAGER} (tilbudsleder, enrolled by her own request)")
        k, l, m = (ledger.signer(n, keystore) for n in (SUPERVISOR, LEADER, MANAGER))
        sup = Supervision(ledger, plugins)

        sup.record(k, TILBUD, ev.TILBUD_REGISTERED, {
            "tilbud": TILBUD, "name": "Bostedet Lærkehøj", "tilbud_type": "døgntilbud", "has_board": False,
            "regional_standards": ["regional-1.3"], "status": "godkendt", "godkendt_dato": "2019-05-01",
            "maalgruppe": "Voksne med udviklingshæmning", "pladser": 12, "afdelinger": ["Lærkehøj", "Engen"],
            "ejerform": "regional", "adresse": "Lærkevej 1, 9999 Eksempelby"}, _at("2026-09-01", "09:00"))

        visit = [
            (ev.VISIT_STARTED, {"visit": "B1", "kind": "uanmeldt", "participants": [
                "Mette Lund (tilbudsleder)", "3 medarbejdere", "2 borgere"]}, "09:00"),
            (ev.OBSERVATION, {"marker": "2.3.1", "element": "2.3.1.a", "source": "borger", "method": "interview",
                              "visit": "B1", "subject": "B-17",  # personal data: sealed for borger B-17
                              "text": "Borger B-17 (Anders, 34 år) fortæller, at værelsesdøren og køkkenskabene "
                                      "låses om aftenen, og at han må bede personalet om at få sine ting."}, "09:40"),
            (ev.OBSERVATION, {"marker": "2.3.1", "element": "2.3.1.a", "source": "borger", "method": "interview",
                              "visit": "B1", "text": "En anden borger bekræfter, at skabene låses om aftenen."}, "09:55"),
            (ev.OBSERVATION, {"marker": "2.3.1", "source": "medarbejder", "method": "interview", "visit": "B1",
                              "text": "Medarbejderne kan ikke redegøre for tilgange, der forebygger magtanvendelse."}, "10:30"),
            (ev.OBSERVATION, {"marker": "2.3.1", "source": "dokumenter", "method": "dokumentanalyse", "visit": "B1",
                              "text": "Fire magtanvendelsesindberetninger på tre måneder, ingen opfølgning."}, "11:15"),
            (ev.OBSERVATION, {"marker": "2.3.1", "source": "fysiske rammer", "method": "observation", "visit": "B1",
                              "text": "Døren til fællesarealet var aflåst kl. 11.30."}, "11:30"),
            (ev.OBSERVATION, {"marker": "2.3.2", "source": "ledelse", "method": "interview", "visit": "B1",
                              "text": "Ledelsen har en skriftlig procedure for indberetning af magtanvendelse."}, "12:00"),
            (ev.VISIT_COMPLETED, {"visit": "B1"}, "13:00"),
            (ev.MARKER_ASSESSED, {"marker": "2.3.1", "verdict": "ikke til stede",
                                  "reason": "Borgere, medarbejdere, indberetninger og de fysiske rammer viser indgribende praksis."}, "15:00"),
            (ev.MARKER_ASSESSED, {"marker": "2.3.2", "verdict": "til stede",
                                  "reason": "Skriftlig procedure for indberetning foreligger og kendes af ledelsen."}, "15:05"),
            (ev.CRITERION_ASSESSED, {"criterion": "2.3", "verdict": "ikke opfyldt", "reason": REASON_23}, "15:20"),
            (ev.RISK, {"colour": "rød", "criterion": "2.3", "reason": "Kriterium 2.3 er ikke opfyldt; borgernes "
                       "selvbestemmelse er krænket."}, "15:25"),
            (ev.RISK, {"colour": "rød", "reason": "Kriterium 2.3 er ikke opfyldt; påbud nødvendigt."}, "15:30"),
        ]
        events = sup.record_many([(k, TILBUD, t, p, _at("2026-09-15", h)) for t, p, h in visit])
        console.print(f"visit B1 recorded as one batch: seq {events[0].seq}–{events[-1].seq}")

        varsel = sup.record(l, TILBUD, ev.VARSEL, {
            "kind": "påbud", "criteria": ["2.3"], "deadline": "2027-01-31", "hjemmel": HJEMMEL,
            "indhold": INDHOLD, "reason": BEGRUNDELSE, "hoeringsfrist": "2026-10-06"}, _at("2026-09-22"))
        console.print(f"varsel of a påbud at seq {varsel.seq}, høringsfrist 2026-10-06")
        svar = sup.record(m, TILBUD, ev.HOERINGSSVAR, {
            "varsel": varsel.seq, "text": "Vi anerkender, at skabene har været låst om aftenen. Vi har allerede bestilt "
                                          "aflåselige skabe til alle borgere og beder om en frist til udgangen af januar."},
            _at("2026-10-02"))
        console.print(f"høringssvar from {MANAGER} at seq {svar.seq}")
        decision = sup.record(l, TILBUD, ev.DECISION_ISSUED, {
            "kind": "påbud", "criteria": ["2.3"], "deadline": "2027-01-31", "varsel": varsel.seq,
            "indhold": INDHOLD, "hjemmel": HJEMMEL, "reason": BEGRUNDELSE,
            "hoering_afvejning": "Høringssvaret bekræfter forholdene. Den ønskede frist til 31. januar 2027 imødekommes; "
                                 "at skabe er bestilt, ændrer ikke, at kriteriet i dag ikke er opfyldt."},
            _at("2026-10-08"))
        console.print(f"påbud issued at seq {decision.seq} on varsel seq {varsel.seq}, deadline 2027-01-31")

        rows = [
            {"item": "P1", "priority": 1, "tema": "2 Sundhed og trivsel",
             "emne": "Ledelsen skal sikre, at der ikke sker indgreb i borgernes selvbestemmelsesret og sikre borgernes frie adgang til aflåste private ejendele.",
             "maal": "At der ikke sker indgreb i borgernes selvbestemmelsesret, og at borgerne har fri adgang til egne aflåste skabe.",
             "hvad": "Hver borger får eget aflåseligt skab, som kun borgeren har adgang til. Fællesarealer holdes åbne.",
             "hvordan": "Personalet vejleder borgerne; ledelsen afsætter budget til skabe.",
             "start": "2026-10-01", "slut": "2026-12-15",
             "dokumentation": "Udviklingen dokumenteres i fagsystemet og drøftes på personalemøder.",
             "hvem": "Mette Lund (tilbudsleder); opfølgning: afdelingsleder", "answers": decision.seq},
            {"item": "P2", "priority": 2, "tema": "2 Sundhed og trivsel",
             "emne": "Ledelsen skal sikre, at reglerne for indberetning af magtanvendelser efterleves.",
             "maal": "At både ledelse og medarbejdere kender reglerne for magtanvendelse og indberetning.",
             "hvad": "Undervisning af ledelse og medarbejdere ved kommunens jurist; gennemgang af indberetninger.",
             "hvordan": "Ledelse og personale har afsat tid til kompetenceløft.",
             "start": "2026-10-01", "slut": "2026-11-30",
             "dokumentation": "Referat fra fagligt forum; punkt i organisationens udviklingsplan.",
             "hvem": "Mette Lund (tilbudsleder)", "answers": decision.seq},
        ]
        for row in rows:
            sup.record(m, TILBUD, ev.PLAN_ITEM_ADDED, row, _at("2026-10-12"))
        revision = sup.state(TILBUD).plan_revision
        sup.record(m, TILBUD, ev.PLAN_APPROVED, {"plan_revision": revision}, _at("2026-10-13"))
        console.print(f"follow-up plan with two priorities approved by {MANAGER} (revision {revision})")
        sup.record(m, TILBUD, ev.PLAN_ITEM_REVISED, {
            "item": "P2", "changes": {"slut": "2027-01-15"},
            "reason": "Juristen kan først undervise i januar; planen konsekvensrettes."}, _at("2026-11-02"))
        sup.record(m, TILBUD, ev.PLAN_RESULT, {
            "item": "P1", "resultat": "Alle borgere har fået eget aflåseligt skab; fællesarealer er åbne."}, _at("2026-11-20"))
        console.print("plan row P2 revised after approval (konsekvensrettet); result recorded for P1")

        sup.record(m, TILBUD, ev.INDIKATOR_CHECKED, {
            "standard": "regional-1.3", "indikator": 1, "verdict": "opfyldt",
            "reason": "Retningslinjer for målarbejde foreligger i kvalitetshåndbogen."}, _at("2026-10-10"))
        sup.record(m, TILBUD, ev.INDIKATOR_CHECKED, {
            "standard": "regional-1.3", "indikator": 5, "verdict": "ikke opfyldt",
            "reason": "Stikprøve af 10 planer viser manglende sammenhæng mellem indsats og mål i 4."}, _at("2026-10-10"))
        for number, reason in ((6, "Målene er formuleret sammen med borgerne i 9 af 10 planer."),
                               (7, "Statusmateriale til myndigheden foreligger for alle 10 borgere."),
                               (8, "Borgerne oplever at være inddraget i formuleringen af deres mål.")):
            sup.record(m, TILBUD, ev.INDIKATOR_CHECKED, {"standard": "regional-1.3", "indikator": number,
                                                         "verdict": "opfyldt", "reason": reason}, _at("2026-10-10"))
        sup.record(m, TILBUD, ev.MONITORING_COMPLETED, {"standard": "regional-1.3", "date": "2026-10-10"},
                   _at("2026-10-10", "16:00"))
        console.print("regional 1.3: indikator 1 opfyldt; trin 3 (indikator 5–8) overvåget 2026-10-10, indikator 5 ikke opfyldt")

        followup = [
            (ev.VISIT_STARTED, {"visit": "B3", "kind": "anmeldt"}, "09:00"),
            (ev.OBSERVATION, {"marker": "2.3.1", "element": "2.3.1.a", "source": "borger", "method": "interview",
                              "visit": "B3", "text": "Borgerne fortæller, at de selv låser deres skabe, og at "
                                                     "fællesarealet er åbent om aftenen."}, "09:30"),
            (ev.OBSERVATION, {"marker": "2.3.1", "source": "medarbejder", "method": "interview", "visit": "B3",
                              "text": "Medarbejderne beskriver de pædagogiske tilgange, der forebygger magtanvendelse."},
             "10:15"),
            (ev.OBSERVATION, {"marker": "2.3.1", "source": "fysiske rammer", "method": "observation", "visit": "B3",
                              "text": "Fællesarealet var åbent; borgernes skabe har egne nøgler."}, "11:00"),
            # 2.3.2 is assessed anew below: its design elements are covered by this visit's own data.
            (ev.OBSERVATION, {"marker": "2.3.2", "element": "2.3.2.a", "source": "dokumenter",
                              "method": "dokumentanalyse", "visit": "B3",
                              "text": "Indberetningerne af magtanvendelse siden påbuddet er indsendt inden for fristen "
                                      "og gennemgået af ledelsen."}, "11:20"),
            (ev.OBSERVATION, {"marker": "2.3.2", "element": "2.3.2.b", "source": "medarbejder", "method": "interview",
                              "visit": "B3", "text": "Medarbejderne kan redegøre for, hvordan og hvornår en "
                                                     "magtanvendelse indberettes."}, "11:40"),
            (ev.VISIT_COMPLETED, {"visit": "B3"}, "12:00"),
            (ev.MARKER_ASSESSED, {"marker": "2.3.1", "verdict": "til stede",
                                  "reason": "Borgere, medarbejdere og de fysiske rammer viser, at indgrebene er ophørt."},
             "14:00"),
            (ev.MARKER_ASSESSED, {"marker": "2.3.2", "verdict": "til stede",
                                  "reason": "Proceduren for indberetning kendes nu også af medarbejderne."}, "14:05"),
            (ev.CRITERION_ASSESSED, {"criterion": "2.3", "verdict": "opfyldt", "reason": REASON_23_OPFYLDT}, "14:20"),
            (ev.RISK, {"colour": "grøn", "criterion": "2.3", "reason": "Kriterium 2.3 er opfyldt ved opfølgningen."},
             "14:25"),
            # The tilbud's own colour rested on 2.3 alone: it is set again, not left rød from the first visit.
            (ev.RISK, {"colour": "grøn", "reason": "Kriterium 2.3, som var grunden til rød, er opfyldt ved "
                                                   "opfølgningen; intet andet giver anledning til bekymring."}, "14:30"),
        ]
        events = sup.record_many([(k, TILBUD, t, p, _at("2026-11-24", h)) for t, p, h in followup])
        console.print(f"follow-up visit B3 and new assessment: seq {events[0].seq}–{events[-1].seq}, 2.3 opfyldt")
        fulfilled = sup.record(l, TILBUD, ev.DECISION_FULFILLED, {
            "decision": decision.seq, "reason": "Den nye vurdering efter opfølgningsbesøget viser kriterium 2.3 "
            "opfyldt; påbuddet er efterkommet."}, _at("2026-11-26"))
        console.print(f"påbud seq {decision.seq} efterkommet at seq {fulfilled.seq}")

        checkpoint = create_checkpoint(ledger, ledger.log_signer(keystore))
        console.print(f"signed checkpoint #{checkpoint.id}: {checkpoint.size} events, root {checkpoint.root.hex()[:16]}…")
        report = verify_ledger(ledger.store, ledger.policy)
    return report


MARKER = ".tilsyn-demo"
"""The file that says a directory was made by ``tilsyn demo`` (and only then may --fresh delete it)."""


def prepare_demo_dir(directory: Path, fresh: bool) -> None:
    """Make ``directory`` ready for a new demo. ``--fresh`` deletes an earlier demo there — but only a
    directory that holds the demo's marker file; ``.``, the home directory, ``/`` and anything else
    that is not empty are refused, with nothing deleted."""
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise click.UsageError(f"{directory} is not a directory the demo made; nothing was deleted")
    if directory.exists() and any(directory.iterdir()):
        resolved = directory.resolve()
        protected = {Path("/").resolve(), Path.home().resolve(), Path.cwd().resolve()}
        if resolved in protected:
            raise click.UsageError(f"refusing to use {directory} ({resolved}) for the demo: it is not a directory "
                                   f"the demo made; nothing was deleted")
        if not (directory / MARKER).is_file():
            raise click.UsageError(f"{directory} is not empty and was not made by 'tilsyn demo' (no {MARKER} file); "
                                   f"nothing was deleted — choose another --dir")
        if not fresh:
            raise click.UsageError(f"{directory} holds an earlier demo; use --fresh to replace it")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by 'tilsyn demo'; 'tilsyn demo --fresh' may delete this directory\n",
                                    encoding="utf-8")


@click.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False), default="tilsyn-demo",
              show_default=True, help="Where to create the demo ledger and its keys.")
@click.option("--fresh", is_flag=True, help="Delete an earlier demo in that directory first (only a directory the demo made).")
@click.pass_context
def demo(ctx: click.Context, directory: Path, fresh: bool) -> None:
    """Build a realistic supervision in a fresh SQLite ledger and show status, findings and verify."""
    prepare_demo_dir(directory, fresh)
    report = run_demo(directory)
    db = str(directory / "tilsyn.db")
    console.rule("tilsyn status T-1001")
    from .main import cli

    env = {"TILSYN_DB": db, "TILSYN_HOME": str(directory)}
    os.environ.update(env)
    # The views are ordinary commands: run them exactly as a user would.
    for args in (["--as", SUPERVISOR, "status", TILBUD], ["findings", TILBUD]):
        cli.main(args=args, prog_name="tilsyn", standalone_mode=False)
        console.rule()
    console.print(f"verify: {'ok' if report.ok else 'FAILED'}: {report.events} events; head {report.head_hash}")
    console.print(f"\nTry it yourself:\n  export TILSYN_DB={db} TILSYN_HOME={directory}\n"
                  f"  tilsyn --as '{SUPERVISOR}' status {TILBUD} --as-of {PAABUD_SEQ}   # as the ledger stood when the påbud was issued\n  tilsyn --as '{SUPERVISOR}' explain {TILBUD}   # how the påbud was reached, node by node\n"
                  f"  tilsyn history {TILBUD}\n  tilsyn verify\n"
                  f"  tilsyn --as '{SUPERVISOR}' observe {TILBUD} 2.3.1 --source pårørende --method trianguleringsinterview "
                  f"--visit B3 --efterfoelgende --text '…'")
    if not report.ok:
        raise SystemExit(1)


COMMANDS = [demo]
