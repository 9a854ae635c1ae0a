"""Synthetic Brazilian-style identities generated from a seeded RNG. No real PII: names are random
combinations of common given names and surnames, e-mails use reserved example domains and phone
numbers are drawn at random in São Paulo's mobile format."""

from __future__ import annotations

import random
import unicodedata

__all__ = ["VEHICLES", "VEHICLE_COLORS", "email_for", "full_name", "license_plate", "phone_number", "vehicle"]

GIVEN_NAMES = (
    "Ana", "Maria", "Juliana", "Fernanda", "Camila", "Beatriz", "Larissa", "Patrícia", "Aline", "Letícia",
    "Gabriela", "Mariana", "Bruna", "Vanessa", "Renata", "Luana", "Débora", "Tatiane", "Jéssica", "Carolina",
    "João", "José", "Pedro", "Lucas", "Gabriel", "Rafael", "Mateus", "Thiago", "Felipe", "Bruno",
    "Carlos", "Eduardo", "Rodrigo", "Marcelo", "André", "Leonardo", "Gustavo", "Diego", "Vinícius", "Paulo",
    "Antônio", "Francisco", "Luiz", "Márcio", "Fábio", "Ricardo", "Daniel", "Sérgio", "Cláudio", "Wellington",
)
SURNAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
    "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
    "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas",
    "Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira", "Araújo", "Correia", "Pinto", "Moura", "Cavalcanti",
)
EMAIL_DOMAINS = ("example.com.br", "example.org", "example.net")
VEHICLES = (
    ("Chevrolet", "Onix"), ("Hyundai", "HB20"), ("Fiat", "Argo"), ("Volkswagen", "Polo"), ("Fiat", "Cronos"),
    ("Renault", "Kwid"), ("Fiat", "Mobi"), ("Volkswagen", "Gol"), ("Nissan", "Versa"), ("Chevrolet", "Prisma"),
    ("Toyota", "Yaris"), ("Honda", "City"), ("Toyota", "Corolla"), ("Renault", "Logan"), ("Volkswagen", "Virtus"),
)
VEHICLE_COLORS = ("branco", "prata", "preto", "cinza", "vermelho", "azul")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def full_name(rng: random.Random) -> str:
    return f"{rng.choice(GIVEN_NAMES)} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def email_for(name: str, rng: random.Random) -> str:
    parts = _ascii(name).split()
    return f"{parts[0]}.{parts[-1]}{rng.randrange(10, 9999)}@{rng.choice(EMAIL_DOMAINS)}"


def phone_number(rng: random.Random) -> str:
    """São Paulo mobile: +55 11 9XXXX-XXXX."""
    return f"+55 11 9{rng.randrange(1000, 9999)}-{rng.randrange(0, 9999):04d}"


def license_plate(rng: random.Random) -> str:
    """Mercosul plate: LLLNLNN."""
    letters = "".join(rng.choice(_LETTERS) for _ in range(3))
    return f"{letters}{rng.randrange(10)}{rng.choice(_LETTERS)}{rng.randrange(100):02d}"


def vehicle(rng: random.Random) -> tuple[str, str, int, str]:
    make, model = rng.choice(VEHICLES)
    return make, model, rng.randrange(2015, 2026), rng.choice(VEHICLE_COLORS)
