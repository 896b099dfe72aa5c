"""Auto-replies: the headers that mark machine-sent answers (RFC 3834 Auto-Submitted and the
de-facto X-Autoreply, X-Auto-Response-Suppress, Precedence: auto_reply), then the wording
alone in English, German, French, Spanish, Dutch and Portuguese. Sub-labels: a person who left
the company (and the new contact when the notice gives one), a ticket acknowledgement, an
out-of-office notice (with the return date), or any other automatic answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from leadflood.inbox.rules.dates import return_date
from leadflood.inbox.rules.message import ADDRESS, Message
from leadflood.inbox.rules.result import Classification
from leadflood.inbox.rules.wording import Hit, Wording

SUBJECT = Wording(
    en=r"^\s*(?:automatic reply|auto(?:matic)?[ -]?(?:response|reply)|autoreply|auto:|"
    r"out of (?:the )?office|ooo\b|away from (?:the )?office)",
    de=r"^\s*(?:automatische antwort|abwesenheitsnotiz|abwesend|nicht im büro)",
    fr=r"^\s*(?:réponse automatique|reponse automatique|absent(?:e)?\b|absence du bureau)",
    es=r"^\s*(?:respuesta automática|respuesta automatica|fuera de (?:la )?oficina|ausente\b)",
    nl=r"^\s*(?:automatisch antwoord|afwezig|niet op kantoor|afwezigheidsmelding)",
    pt=r"^\s*(?:resposta automática|resposta automatica|ausente\b|fora do escritório)",
)
OUT_OF_OFFICE = Wording(
    en=r"\bout of (?:the )?office\b|\bOOO\b|\bon (?:annual |parental |maternity |paternity |sick )?"
    r"(?:leave|vacation|holiday|holidays)\b|\baway from (?:the office|my desk|email|the desk)|"
    r"\blimited (?:access to (?:my )?e-?mail|connectivity)|\bcurrently (?:away|travell?ing)\b|"
    r"\bnot in the office\b|\bI am away\b|\bI'?m away\b|\bI am currently out\b",
    de=r"\bnicht im (?:Büro|Hause|Haus)\b|\babwesend\b|\bAbwesenheit|\bim Urlaub\b|"
    r"\b(?:außer|ausser) Haus\b|keinen Zugriff auf (?:meine )?E-?Mails|\bElternzeit\b",
    fr=r"\babsente? du bureau\b|\bje suis absente?\b|\ben congés?\b|\ben vacances\b|"
    r"\bhors du bureau\b|\baccès limité\b",
    es=r"\bfuera de (?:la )?oficina\b|\bde vacaciones\b|\bestoy ausente\b|\bausente\b|"
    r"\bacceso limitado\b",
    nl=r"\bafwezig\b|\bmet vakantie\b|\bop vakantie\b|\bniet op kantoor\b|\bniet aanwezig\b|"
    r"\bbuiten kantoor\b",
    pt=r"\bfora do escritório\b|\bestou ausente\b|\bausente\b|\bde férias\b|\bde licença\b|"
    r"\bacesso limitado\b",
)
LEFT_COMPANY = Wording(
    en=r"\bno longer (?:with|at|employed|works? (?:at|for|with)|working (?:at|for|with)|"
    r"part of|a member of)\b|\bha(?:s|ve) left (?:the company|the organi[sz]ation|our company)|"
    r"\bleft the (?:company|organi[sz]ation)\b|\bthis (?:mailbox|e-?mail address|address) is "
    r"no longer (?:monitored|active|in use)",
    de=r"\bnicht mehr (?:im Unternehmen|bei uns|für uns|in unserem Unternehmen|tätig|"
    r"beschäftigt|Mitarbeiter)|\bhat (?:das Unternehmen|unser Unternehmen|uns) verlassen|"
    r"\b(?:ist )?(?:aus dem Unternehmen )?ausgeschieden\b|dieses Postfach wird nicht mehr",
    fr=r"\bne fait plus partie\b|\bne travaille plus\b|\ba quitté (?:la société|l'entreprise|"
    r"notre société|notre entreprise)|\bn'est plus (?:en poste|chez|employée?|"
    r"au sein)|\bcette (?:adresse|boîte) n'est plus",
    es=r"\bya no (?:trabaja|forma parte|está en|pertenece)\b|\bha dejado (?:la empresa|"
    r"la compañía|nuestra empresa)|\bdejó la empresa\b",
    nl=r"\b(?:werkt|is) niet (?:meer|langer) (?:bij|werkzaam|in dienst)|\bheeft (?:het bedrijf|"
    r"ons|onze organisatie) verlaten|\buit dienst\b",
    pt=r"\bjá não (?:trabalha|faz parte|está)\b|\bnão (?:trabalha|faz parte) mais\b|"
    r"\bdeixou a empresa\b|\bsaiu da empresa\b|\bnão está mais (?:na|em)\b",
)
TICKET = Wording(
    en=r"\b(?:ticket|case|request|incident)\s*(?:#|number|no\.?|ID)\s*:?\s*\[?#?[A-Z0-9-]*\d|"
    r"\b(?:we have|we've) received your (?:request|message|e-?mail|enquiry|inquiry)|"
    r"\byour (?:request|ticket|case) has been (?:received|created|logged|opened)",
    de=r"\b(?:Ticket|Anfrage|Vorgang)(?:nummer|-Nr\.?|\s*(?:#|Nr\.?|Nummer|ID))\s*:?\s*#?[A-Z0-9-]*\d|"
    r"\bIhre Anfrage (?:ist bei uns eingegangen|wurde (?:erfasst|aufgenommen))",
    fr=r"\b(?:ticket|demande|dossier)\s*(?:#|n[°o]\.?|numéro)\s*:?\s*#?[A-Z0-9-]*\d|"
    r"\bvotre demande a (?:bien )?été (?:reçue|enregistrée)",
    es=r"\b(?:ticket|solicitud|caso|incidencia)\s*(?:#|n[°ºo]\.?|número)\s*:?\s*#?[A-Z0-9-]*\d|"
    r"\bhemos recibido su (?:solicitud|mensaje|correo)",
    nl=r"\b(?:ticket|verzoek|melding)\s*(?:#|nummer|nr\.?)\s*:?\s*#?[A-Z0-9-]*\d|"
    r"\b(?:uw|je) (?:verzoek|melding) is (?:ontvangen|geregistreerd)",
    pt=r"\b(?:ticket|chamado|pedido|solicitação)\s*(?:#|n[°ºo]\.?|número)\s*:?\s*#?[A-Z0-9-]*\d|"
    r"\brecebemos (?:o seu|seu|a sua|sua) (?:pedido|solicitação|mensagem|e-?mail)",
)
# Words that point at the address to write to instead, before that address.
CONTACT_WORDS = re.compile(
    r"contact|reach|write to|e-?mail|get in touch|wenden Sie sich|kontaktieren|schreiben Sie|"
    r"Ansprechpartner|contacter|contactez|écrivez|adressez|contacte|póngase|escriba|"
    r"neem contact|mail naar|stuur|entre em contato|fale com|escreva|envie",
    re.IGNORECASE,
)
AUTO_VALUES = re.compile(r"auto[-_]?reply|autoreply|auto[-_]?generated|auto[-_]?replied", re.I)


@dataclass(frozen=True)
class Signals:
    headers: tuple[str, ...]
    subject: Hit | None
    left: Hit | None
    ticket: Hit | None
    away: Hit | None

    @property
    def wording(self) -> bool:
        return bool(self.subject or self.left or self.ticket or self.away)


def header_evidence(message: Message) -> tuple[str, ...]:
    """The headers that mark this message as sent by a machine, one string each."""
    found = []
    auto_submitted = message.header("Auto-Submitted").strip()
    if auto_submitted and auto_submitted.lower().split(";")[0].strip() != "no":
        found.append(f"header Auto-Submitted: {auto_submitted[:40]}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Response-Suppress"):
        value = message.header(name).strip()
        if value and value.lower() not in ("no", "false", "0"):
            found.append(f"header {name}: {value[:40]}")
    precedence = message.header("Precedence").strip().lower()
    if precedence == "auto_reply":
        found.append("header Precedence: auto_reply")
    generated = message.header("X-Autogenerated").strip()
    if AUTO_VALUES.search(generated) or generated.lower() == "reply":
        found.append(f"header X-Autogenerated: {generated[:40]}")
    return tuple(found)


def signals(message: Message) -> Signals:
    text = message.top
    return Signals(
        headers=header_evidence(message),
        subject=SUBJECT.search(message.subject),
        left=LEFT_COMPANY.search(text) or LEFT_COMPANY.search(message.subject),
        ticket=TICKET.search(text) or TICKET.search(message.subject),
        away=OUT_OF_OFFICE.search(text),
    )


def classify(message: Message, found: Signals, today: date) -> Classification:
    """An auto-reply's label, once the headers or the wording have shown it is one."""
    evidence = list(found.headers)
    if found.subject:
        evidence.append(f"subject wording {found.subject.describe()}")
    if found.left:
        evidence.append(f"left-company wording {found.left.describe()}")
        contact = new_contact(message)
        if contact:
            evidence.append(f"new contact {contact}")
        return Classification(
            kind="auto_reply",
            label="left_company",
            new_contact_email=contact,
            evidence=tuple(evidence),
        )
    if found.ticket:
        evidence.append(f"ticket wording {found.ticket.describe()}")
        return Classification(kind="auto_reply", label="ticket", evidence=tuple(evidence))
    back = return_date(message.top, today)
    away_subject = found.subject is not None and _away_subject(found.subject)
    if found.away or away_subject or back:
        if found.away:
            evidence.append(f"out-of-office wording {found.away.describe()}")
        if back:
            evidence.append(f'return date "{back.text}" read as {back.value.isoformat()}')
        return Classification(
            kind="auto_reply",
            label="out_of_office",
            return_date=back.value if back else None,
            evidence=tuple(evidence),
        )
    return Classification(kind="auto_reply", label="auto_reply", evidence=tuple(evidence))


def _away_subject(hit: Hit) -> bool:
    return not re.search(r"auto|automati", hit.phrase, re.IGNORECASE)


def new_contact(message: Message) -> str | None:
    """The address a left-company notice sends us to: not the sender's, not ours."""
    exclude = {message.sender, *message.recipients}
    text = message.top
    candidates = [
        (match.start(), match.group(0).lower())
        for match in ADDRESS.finditer(text)
        if match.group(0).lower() not in exclude
        and not re.match(r"(?:no-?reply|do-?not-?reply|mailer-daemon)@", match.group(0), re.I)
    ]
    if not candidates:
        return None
    for start, address in candidates:
        if CONTACT_WORDS.search(text[max(0, start - 80) : start]):
            return address
    return candidates[0][1]
