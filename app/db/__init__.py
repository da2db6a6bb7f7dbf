"""Database: engine resolution (external or embedded), tables, migrations."""
