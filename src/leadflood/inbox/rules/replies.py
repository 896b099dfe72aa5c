"""Human replies, labelled on what the sender wrote now (quotes and signature removed):
referral > not_interested > interested > question > other. A referral names the address it
points to when the text gives one that is neither the sender's nor ours."""

from __future__ import annotations

import re

from leadflood.inbox.rules.message import ADDRESS, Message
from leadflood.inbox.rules.result import Classification
from leadflood.inbox.rules.wording import Hit, Wording

REFERRAL = Wording(
    en=r"\b(?:the )?(?:right|best|better|correct) (?:person|contact|people)\b|"
    r"\b(?:reach out|talk|speak|get in touch|connect) (?:to|with) (?!me\b|us\b)|"
    r"\b(?:please )?contact (?!me\b|us\b)\w|\b(?:cc'?d|cc'?ing|copied|copying|looping in|"
    r"looped in|adding)\b|\bforward(?:ed|ing)? (?:this|it|your (?:e-?mail|message|note)) to\b|"
    r"\b(?:is )?(?:in charge of|responsible for|handles|owns) (?:this|that|these|our)\b|"
    r"\byou (?:should|could|might want to|may want to) (?:e-?mail|write to|ask|try)\b|"
    r"\btry (?=\S+@)",
    de=r"\b(?:richtige|richtiger|zuständige|zuständiger) (?:Ansprechpartner(?:in)?|Person|Kontakt)|"
    r"\bzuständig\b|\bwenden Sie sich (?:bitte )?an\b|\bin (?:Kopie|CC)\b|"
    r"\bweitergeleitet\b|\bkontaktieren Sie (?!mich|uns)\w",
    fr=r"\bla bonne personne\b|\bbon interlocuteur\b|\bcontactez (?!-moi)\w|\ben copie\b|"
    r"\bje transmets\b|\btransmis\b|\badressez-vous à\b|\bs'adresser à\b|\bchargée? de\b",
    es=r"\bla persona (?:adecuada|indicada|correcta)\b|\bcontacte (?:con|a)\b|"
    r"\bpóngase en contacto con\b|\ben copia\b|\breenviado\b|\bencargad[oa] de\b|"
    r"\bhable con\b|\bescriba a\b",
    nl=r"\bde juiste (?:persoon|contactpersoon)\b|\bneem (?:contact op met|even contact op met)\b|"
    r"\bin de cc\b|\bdoorgestuurd\b|\bverantwoordelijk voor\b|\bmail (?:naar|met)\b",
    pt=r"\ba pessoa (?:certa|indicada|correta)\b|\bentre em contato com\b|\bfale com\b|"
    r"\bem cópia\b|\bencaminhei\b|\bresponsável (?:por|pel[ao])\b|\bescreva para\b",
)
NOT_INTERESTED = Wording(
    en=r"\bnot (?:really |currently |at all )?interested\b|\bno interest\b|\bno,? thanks?\b|"
    r"\bno,? thank you\b|\bnot (?:a )?(?:good |great )?fit\b|\bnot (?:looking|in the market)\b|"
    r"\bnot (?:right )?now\b|\bnot at (?:this|the) (?:time|moment)\b|"
    r"\b(?:we(?:'re| are)|i'?m|i am) (?:all set|covered)\b|"
    r"\balready (?:have|use|using|work with)\b|"
    r"\b(?:don'?t|do not) need\b|\bnot for us\b|\bno budget\b|\bpass on this\b|\bnot a priority\b",
    de=r"\bkein(?:e|en)? (?:Interesse|Bedarf)\b|\bnicht interessiert\b|\bnein,? danke\b|"
    r"\bhaben (?:bereits|schon) (?:eine|einen|ein)\b|"
    r"\bbrauchen (?:wir )?(?:das |so etwas )?nicht\b|"
    r"\b(?:derzeit|aktuell|momentan) (?:kein|nicht)\b",
    fr=r"\bpas intéressée?s?\b|\bpas interessée?s?\b|\baucun intérêt\b|\bpas d'intérêt\b|"
    r"\bnon,? merci\b|\bpas besoin\b|\bpas pour (?:nous|le moment)\b|\bdéjà une solution\b",
    es=r"\bno (?:estamos |estoy )?interesad[oa]s?\b|\bno (?:nos|me) interesa\b|\bno,? gracias\b|"
    r"\bno necesitamos\b|\bya tenemos\b|\bpor ahora no\b",
    nl=r"\bgeen interesse\b|\bniet geïnteresseerd\b|\bniet geinteresseerd\b|\bnee,? dank\w*\b|"
    r"\bgeen behoefte\b|\bhebben al\b|\bop dit moment niet\b",
    pt=r"\bnão (?:tenho|temos) interesse\b|\bnão (?:estou|estamos) interessad[oa]s?\b|"
    r"\bsem interesse\b|\bnão,? obrigad[oa]\b|\bnão precisamos\b|\bjá temos\b|"
    r"\b(?:de|no) momento não\b",
)
INTERESTED = Wording(
    en=r"\binterested\b|\bsounds (?:good|great|interesting)\b|\blet'?s (?:talk|chat|connect|"
    r"schedule|set up|meet|book|do it|find a time)\b|\bhappy to (?:chat|talk|connect|hop on|meet|"
    r"learn)\b|\b(?:book|schedule|set up|arrange) (?:a |some )?(?:call|meeting|demo|time)\b|"
    r"\btell me more\b|"
    r"\bsend (?:me |us )?(?:more )?(?:info|information|details|the deck|pricing)\b|"
    r"\bwould love to\b|\bi'?d like to (?:learn|know|see|try)\b|\bopen to (?:a|it|chatting)\b|"
    r"\bwhen (?:are|would) you (?:be )?(?:free|available)\b|\bmy calendar\b|\bcalendly\b|"
    r"\bworth a (?:chat|call|look)\b|^\s*(?:yes|sure)\b",
    de=r"\binteressiert\b|\bInteresse\b|\bklingt (?:gut|interessant|spannend)\b|\bgerne?\b|"
    r"\bTermin\b|\blassen Sie uns\b|\btelefonieren\b|\bmehr (?:erfahren|Informationen)\b",
    fr=r"\bintéress(?:é|ée|és|ées|ant)\b|\bm'intéresse\b|\bvolontiers\b|\bavec plaisir\b|"
    r"\bprenons rendez-vous\b|\bun appel\b|\ben savoir plus\b|\bd'accord\b",
    es=r"\b(?:me|nos) interesa\b|\binteresad[oa]s?\b|\bsuena (?:bien|interesante)\b|"
    r"\bcon gusto\b|\bagendemos\b|\buna llamada\b|\bmás información\b|\bhablemos\b",
    nl=r"\bgeïnteresseerd\b|\bgeinteresseerd\b|\binteresse\b|\bklinkt (?:goed|interessant)\b|"
    r"\bgraag\b|\blaten we\b|\bafspraak\b|\bbellen\b|\bmeer informatie\b",
    pt=r"\binteressad[oa]s?\b|\b(?:tenho|temos) interesse\b|\bparece (?:ótimo|bom|interessante)\b|"
    r"\bcom prazer\b|\bvamos (?:conversar|marcar|falar)\b|\buma (?:chamada|reunião)\b|"
    r"\bmais informações\b",
)
QUESTION = re.compile(r"[?¿]")
URL = re.compile(r"https?://\S+|www\.\S+")


def human_intent(text: str) -> Hit | None:
    """Words a person writes and an automatic notice does not: interest, refusal, a question.
    They make an out-of-office or left-company text without auto headers a human reply."""
    return NOT_INTERESTED.search(text) or INTERESTED.search(text) or _question(text)


def classify(message: Message) -> Classification:
    text = message.visible
    if not text.strip():
        return Classification(
            kind="reply", label="other", evidence=("no text written above the quote",)
        )
    referral = REFERRAL.search(text)
    others = _addresses_besides_ours(message, text)
    if referral:
        evidence = [f"referral wording {referral.describe()}"]
        email = others[0] if others else None
        if email:
            evidence.append(f"referred address {email} in the text")
        else:
            email = _copied(message)
            if email:
                evidence.append(f"referred address {email}, copied on the reply")
        return Classification(
            kind="reply", label="referral", referral_email=email, evidence=tuple(evidence)
        )
    for label, wording in (("not_interested", NOT_INTERESTED), ("interested", INTERESTED)):
        hit = wording.search(text)
        if hit:
            return Classification(
                kind="reply", label=label, evidence=(f"{label} wording {hit.describe()}",)
            )
    question = _question(text)
    if question:
        return Classification(
            kind="reply", label="question", evidence=(f"a question: {question.phrase}",)
        )
    return Classification(
        kind="reply", label="other", evidence=("no interest, refusal, referral or question found",)
    )


def _question(text: str) -> Hit | None:
    plain = URL.sub(" ", text)
    match = QUESTION.search(plain)
    if not match:
        return None
    line_start = plain.rfind("\n", 0, match.start()) + 1
    line_end = plain.find("\n", match.start())
    sentence = plain[line_start : line_end if line_end >= 0 else len(plain)]
    return Hit("any", " ".join(sentence.split())[:60], match.start())


def _copied(message: Message) -> str | None:
    exclude = {message.sender, *message.recipients}
    return next((address for address in message.copied if address not in exclude), None)


def _addresses_besides_ours(message: Message, text: str) -> list[str]:
    exclude = {message.sender, *message.recipients}
    found = []
    for match in ADDRESS.finditer(text):
        address = match.group(0).lower()
        if address not in exclude and address not in found:
            found.append(address)
    return found
