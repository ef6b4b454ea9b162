"""The local dashboard (Dash), served on 127.0.0.1."""
