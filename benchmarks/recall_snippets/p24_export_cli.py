import argparse
import csv
import threading

from .client import ApiClient


def export_table(client, table, out_path):
    with open(out_path, "w", newline="") as fh:
        writer = csv.writer(fh)
        for row in client.iter_rows(table):
            writer.writerow(row)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("tables", nargs="+")
    args = parser.parse_args(argv)
    client = ApiClient.from_env()
    for table in args.tables:
        worker = threading.Thread(target=export_table, args=(client, table, f"{table}.csv"))
        worker.start()
    print("export started for", len(args.tables), "tables")
