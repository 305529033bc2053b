"""Class filing with the regulator (开班备案 / 结业备案): app/filing/service.py."""
